// Compiles contracts/src/*.sol with the pinned npm `solc` (solcjs, offline) into
// contracts/out/<Contract>.json ({abi, bytecode}). Deterministic: same sources, same output.
// Usage: node scripts/compile_contracts.mjs [--check]   (--check: fail if out/ is stale)
//        node scripts/compile_contracts.mjs --src DIR    (compile DIR/*.sol, write nothing:
//                                                         e.g. what `verity bindings` wrote)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const srcArg = process.argv.indexOf('--src');
const only = srcArg >= 0 ? path.resolve(process.argv[srcArg + 1]) : null;
const srcDir = only ?? path.join(root, 'contracts', 'src');
const outDir = path.join(root, 'contracts', 'out');
const check = process.argv.includes('--check');

const sources = {};
for (const file of fs.readdirSync(srcDir).filter((f) => f.endsWith('.sol')).sort()) {
  sources[`contracts/src/${file}`] = { content: fs.readFileSync(path.join(srcDir, file), 'utf8') };
}
const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const findImports = (p) => {
  const file = only && p.startsWith('contracts/src/') ? path.join(only, p.slice('contracts/src/'.length)) : path.join(root, p);
  return fs.existsSync(file) ? { contents: fs.readFileSync(file, 'utf8') } : { error: `not found: ${p}` };
};
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((e) => e.severity === 'error');
for (const e of output.errors || []) console.error(e.formattedMessage);
if (errors.length) process.exit(1);
if (only) {
  console.log(`${Object.keys(sources).length} file(s) in ${only} compile`);
  process.exit(0);
}

fs.mkdirSync(outDir, { recursive: true });
let stale = [];
for (const [file, contracts] of Object.entries(output.contracts)) {
  if (!file.startsWith('contracts/src/')) continue;
  for (const [name, c] of Object.entries(contracts)) {
    // Deployable contracts only (not interfaces, not libraries of internal functions).
    if (!c.evm.bytecode.object || !c.abi.some((x) => x.type === 'function' || x.type === 'constructor')) continue;
    const artifact = JSON.stringify({ contractName: name, compiler: `solc ${solc.version()}`, abi: c.abi, bytecode: '0x' + c.evm.bytecode.object }, null, 2) + '\n';
    const target = path.join(outDir, `${name}.json`);
    if (check) {
      if (!fs.existsSync(target) || fs.readFileSync(target, 'utf8') !== artifact) stale.push(name);
    } else {
      fs.writeFileSync(target, artifact);
      console.log(`compiled ${name} (${c.evm.bytecode.object.length / 2} bytes) -> contracts/out/${name}.json`);
    }
  }
}
if (stale.length) {
  console.error(`contracts/out is stale for ${stale.join(', ')}: run node scripts/compile_contracts.mjs`);
  process.exit(1);
}
