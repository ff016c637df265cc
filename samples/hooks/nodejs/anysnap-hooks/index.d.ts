// Types of anysnap-hooks (index.js).

/** A hook: called with no arguments; a returned Promise is awaited. */
export type Hook = () => unknown | Promise<unknown>;

/** Runs `fn` before the snapshot; before-snapshot hooks run in reverse registration order. */
export function registerBeforeSnapshot(fn: Hook): void;

/** Runs `fn` after each restore; after-restore hooks run in registration order. */
export function registerAfterRestore(fn: Hook): void;

declare const hooks: {
  registerBeforeSnapshot: typeof registerBeforeSnapshot;
  registerAfterRestore: typeof registerAfterRestore;
};
export default hooks;
