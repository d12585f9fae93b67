#!/usr/bin/env node
// The package's bin. Plain JavaScript so that it starts on any Node: in a clone it runs the
// TypeScript sources (Node 22.18+ and 24 strip types), in the published package (no src/) the build.
import { existsSync } from 'node:fs';
import module from 'node:module';

// Before main.ts loads, so that its own stripped TypeScript is cached too (see runAsProgram).
module.enableCompileCache?.();

const source = new URL('../src/cli/main.ts', import.meta.url);
const built = new URL('../build/cli/main.js', import.meta.url);
const fromSource = existsSync(source);
if (fromSource && !process.features.typescript && !existsSync(built)) {
  process.stderr.write(
    `telemetry-stack: Node ${process.version} cannot run the TypeScript sources; use Node 22.18 or later (npm install puts Node 24 in node_modules/.bin), or run "npm run build" first\n`,
  );
  process.exit(1);
}
const { runAsProgram } = await import((fromSource && process.features.typescript ? source : built).href);
runAsProgram();
