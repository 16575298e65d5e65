// The framework versions the contract runs against are installed under aliases; their types
// are the current majors' (@types/express 5, @types/koa 3, fastify 5's own), which cover what the harnesses use.
declare module 'express-v4' {
  import express from 'express';
  export default express;
}
declare module 'express-v4-17' {
  import express from 'express';
  export default express;
}
declare module 'express-v5' {
  import express from 'express';
  export default express;
}
declare module 'koa-v2' {
  import Koa from 'koa';
  export default Koa;
}
declare module 'koa-v3' {
  import Koa from 'koa';
  export default Koa;
}
declare module 'fastify-v4' {
  import Fastify from 'fastify';
  export default Fastify;
}
declare module 'fastify-v5' {
  import Fastify from 'fastify';
  export default Fastify;
}
declare module 'fastify-v4-0' {
  import Fastify from 'fastify';
  export default Fastify;
}
