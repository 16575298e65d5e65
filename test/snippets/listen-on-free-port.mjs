// Preloaded (`node --import`) into a README snippet that serves: its `listen(3000)` listens
// on a free port instead, so that nothing else on the machine can make the check fail, and
// the port is printed for test/snippets/check.mjs to call.
import { Server } from 'node:net';

const listen = Server.prototype.listen;
Server.prototype.listen = function (...args) {
  const [first] = args;
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    args[0] = 0;
  } else if (typeof first === 'object' && first !== null && 'port' in first) {
    args[0] = { ...first, port: 0 };
  }
  this.once('listening', () => {
    const address = this.address();
    if (typeof address === 'object' && address !== null) {
      process.stderr.write(`[snippet] listening on port ${address.port}\n`);
    }
  });
  return listen.apply(this, args);
};
