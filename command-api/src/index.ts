export { type CommandApi, startCommandApi } from './command-api.ts';
export { CommandApiConfig, loadConfig } from './config.ts';
