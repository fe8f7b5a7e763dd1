// Does every built .js file parse in the oldest browsers we support (Safari/iOS 15.4)?
// Usage: node check-bundle.mjs DIR
// Prints one JSON object: {files, syntaxErrors: [{file, message}], staticBlocks: [file],
// newerMethods: {name: [file]}}.
// Safari 15.4 parses ES2022 except class static blocks (Safari 16.4), so each file is parsed
// as ES2022 and then searched for static blocks; calls of Array methods newer than the
// target are listed so the test can check that each one is polyfilled.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse } from "acorn";
import { simple } from "acorn-walk";

const NEWER_METHODS = new Set(["toSorted", "toReversed", "toSpliced", "findLast", "findLastIndex", "groupBy", "withResolvers", "fromAsync"]);

function* jsFiles(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* jsFiles(path);
    else if (name.endsWith(".js") || name.endsWith(".mjs")) yield path;
  }
}

const report = { files: 0, syntaxErrors: [], staticBlocks: [], newerMethods: {} };
for (const file of jsFiles(process.argv[2])) {
  report.files += 1;
  let ast;
  try {
    ast = parse(readFileSync(file, "utf8"), { ecmaVersion: 2022, sourceType: "module" });
  } catch (err) {
    report.syntaxErrors.push({ file, message: err.message });
    continue;
  }
  let hasStaticBlock = false;
  simple(ast, {
    StaticBlock() { hasStaticBlock = true; },
    MemberExpression(node) {
      const name = !node.computed && node.property.type === "Identifier" ? node.property.name : null;
      if (name && NEWER_METHODS.has(name)) (report.newerMethods[name] ||= []).push(file);
    },
  });
  if (hasStaticBlock) report.staticBlocks.push(file);
}
console.log(JSON.stringify(report));
