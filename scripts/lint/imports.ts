/**
 * The import graph's rules, checked without a dependency (`npm run lint` runs
 * this file with Node's type stripping):
 *
 *   floors   cli/ on top; worker/, publisher/, activator/ below it, none
 *            importing another; rescaler-web/ below them; lib/ the ground
 *            floor. Code imports only its own floor or lower ones; runtime
 *            code never imports scripts/, test/ or bench/.
 *   circles  none between files, none between folders. A type-only import
 *            (`import type`) counts for the floors but not for circles: it
 *            is gone once compiled.
 *
 * Only relative imports are followed (packages cannot import the project).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const floors: Record<string, number> = {
  lib: 0,
  'rescaler-web': 1,
  worker: 2,
  publisher: 2,
  activator: 2,
  cli: 3,
};
const outside = ['scripts', 'test', 'bench'];
const skip = new Set(['node_modules', 'dist', '.git', 'browser']);

function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (skip.has(name)) return [];
    if (statSync(join(root, path)).isDirectory()) return sources(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

const importPattern =
  /(?:^|\s)(import|export)\s(type\s)?[^;]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)|(?:^|\s)import\s+'(\.[^']+)'/g;

interface Import {
  readonly target: string;
  readonly typeOnly: boolean;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(importPattern)].map((m) => ({
    target: relative(root, resolve(root, dirname(file), (m[3] ?? m[4] ?? m[5])!)).replace(/\.js$/, '.ts'),
    typeOnly: m[2] !== undefined,
  }));
}

const top = (file: string): string => file.split('/')[0]!;
const folder = (file: string): string => dirname(file);

const files = [...Object.keys(floors), ...outside].flatMap(sources);
const graph = new Map(files.map((file) => [file, importsOf(file)]));
const problems: string[] = [];

for (const [file, targets] of graph) {
  const from = floors[top(file)];
  if (from === undefined) continue;
  for (const { target } of targets) {
    const to = floors[top(target)];
    if (to === undefined) problems.push(`${file} imports ${target}: runtime code imports no test or script`);
    else if (to > from) problems.push(`${file} imports ${target}: up from ${top(file)}/ to ${top(target)}/`);
    else if (to === from && top(target) !== top(file))
      problems.push(`${file} imports ${target}: ${top(file)}/ and ${top(target)}/ are separate components`);
  }
}

/** Tarjan's strongly connected components: every component of more than one node is a circle. */
function circles(edges: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const to of edges.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(node, Math.min(low.get(node)!, index.get(to)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return found;
}

const runtime = (imports: Import[]): string[] => imports.filter((i) => !i.typeOnly).map((i) => i.target);
const fileEdges = new Map([...graph].map(([file, imports]) => [file, new Set(runtime(imports))]));
const folderEdges = new Map<string, Set<string>>();
for (const [file, imports] of graph) {
  const edges = folderEdges.get(folder(file)) ?? new Set<string>();
  for (const target of runtime(imports)) if (folder(target) !== folder(file)) edges.add(folder(target));
  folderEdges.set(folder(file), edges);
}
for (const circle of circles(fileEdges)) problems.push(`files import each other: ${circle.join(', ')}`);
for (const circle of circles(folderEdges))
  problems.push(`folders import each other: ${circle.map((f) => `${f}/`).join(', ')}`);

if (problems.length > 0) {
  console.error(`import rules (scripts/lint/imports.ts):\n  ${problems.join('\n  ')}`);
  process.exitCode = 1;
} else {
  console.log(`imports: ${graph.size} files, no import up, no circle`);
}
