// `node --import <this file> …`: append the URL of every module the process loads to the file MODULE_LOG names, one
// a line. bin/ts-hooks.mjs's hooks answer .ts modules themselves, and hooks registered later run first: so these are
// registered again after each later registration (module.registerHooks wrapped, the named export synced with it).
import module from "node:module";
import { appendFileSync } from "node:fs";

const file = process.env.MODULE_LOG;
if (file) {
  const hooks = {
    load(url, context, next) {
      appendFileSync(file, `${url}\n`);
      return next(url, context);
    },
  };
  const registerHooks = module.registerHooks;
  module.registerHooks = (h) => {
    const registered = registerHooks(h);
    registerHooks(hooks);
    return registered;
  };
  module.syncBuiltinESMExports();
  registerHooks(hooks);
}
