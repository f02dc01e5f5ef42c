// The sandbox's public surface: what the CLI, the SSH executor (`sandbox: web1` servers) and the tests use.
export { ensureImage, type EnsureImageOptions, type SandboxImage } from './image.js';
export { sandboxPaths, type SandboxPaths } from './paths.js';
export { sandboxTarget, type SandboxTarget, type ServerStatus } from './registry.js';
export {
  sandboxDown,
  sandboxDownAll,
  sandboxList,
  sandboxUp,
  type DownOptions,
  type SandboxServer,
  type UpOptions,
  type UpResult,
} from './server.js';
export { sshOptions } from './ssh.js';
export { imageRecipes } from './recipe.js';
