export { createQueryApp, type QueryAppDeps } from './http/app.ts';
