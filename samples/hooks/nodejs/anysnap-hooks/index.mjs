// ES module entry of anysnap-hooks: the same single registry as the CommonJS
// entry (index.js), so `import` and `require` in one process share it.
import hooks from './index.js';

export const { registerBeforeSnapshot, registerAfterRestore } = hooks;
export default hooks;
