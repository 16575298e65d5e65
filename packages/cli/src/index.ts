export { main, type CliIo } from './main.js';
export { exitCodes, type ExitCode } from './exit-codes.js';
export { parseEnvFile } from './env-file.js';
