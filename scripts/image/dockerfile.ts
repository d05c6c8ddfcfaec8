/**
 * Runs a Dockerfile's steps without a Docker engine, so that the image's
 * build is proven on machines that cannot build images: each stage gets a
 * directory standing for its filesystem root; WORKDIR, COPY (also
 * --from=stage), RUN, ENV, USER and ENTRYPOINT are carried out or recorded.
 * FROM's base image is not fetched: the stage runs with this machine's
 * Node, which the caller puts on PATH (the project pins the same major).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface Stage {
  readonly name: string;
  readonly base: string;
  readonly root: string;
  workdir: string;
  env: Record<string, string>;
  user?: string;
  entrypoint?: string[];
}

export class DockerfileError extends Error {
  override readonly name = 'DockerfileError';
}

/** Logical lines: comments dropped, `\` continuations joined. */
export function instructions(text: string): { keyword: string; args: string; line: number }[] {
  const out: { keyword: string; args: string; line: number }[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending === '') start = i + 1;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const space = full.indexOf(' ');
    out.push({
      keyword: full.slice(0, space).toUpperCase(),
      args: full.slice(space + 1).trim(),
      line: start,
    });
  });
  return out;
}

export function runDockerfile(options: {
  dockerfile: string;
  context: string;
  workspace: string;
  log?: (line: string) => void;
}): Stage {
  const log = options.log ?? (() => {});
  const stages: Stage[] = [];
  let stage: Stage | undefined;
  const inRoot = (s: Stage, path: string): string =>
    join(s.root, path.startsWith('/') ? path : join(s.workdir, path));

  for (const { keyword, args, line } of instructions(readFileSync(options.dockerfile, 'utf8'))) {
    const where = `${options.dockerfile}:${line}`;
    if (keyword === 'FROM') {
      const [base = '', as, name] = args.split(/\s+/);
      const stageName = as?.toUpperCase() === 'AS' && name ? name : String(stages.length);
      const root = join(options.workspace, `stage-${stages.length}-${stageName}`);
      mkdirSync(root, { recursive: true });
      stage = { name: stageName, base, root, workdir: '/', env: {} };
      stages.push(stage);
      log(`FROM ${base} -> ${root}`);
      continue;
    }
    if (!stage) throw new DockerfileError(`${where}: ${keyword} before FROM`);
    switch (keyword) {
      case 'WORKDIR':
        stage.workdir = resolve(stage.workdir, args);
        mkdirSync(join(stage.root, stage.workdir), { recursive: true });
        break;
      case 'ENV': {
        for (const pair of args.split(/\s+/)) {
          const eq = pair.indexOf('=');
          if (eq <= 0) throw new DockerfileError(`${where}: ENV wants key=value, got "${pair}"`);
          stage.env[pair.slice(0, eq)] = pair.slice(eq + 1);
        }
        break;
      }
      case 'COPY': {
        const words = args.split(/\s+/);
        const from = words[0]?.startsWith('--from=') ? words.shift()!.slice('--from='.length) : undefined;
        const dest = words.pop();
        if (!dest || words.length === 0)
          throw new DockerfileError(`${where}: COPY wants sources and a destination`);
        const source = from === undefined ? undefined : stages.find((s) => s.name === from);
        if (from !== undefined && !source) throw new DockerfileError(`${where}: no stage named ${from}`);
        const target = inRoot(stage, dest);
        for (const src of words) {
          const path = source ? inRoot(source, src) : join(options.context, src);
          if (!existsSync(path)) throw new DockerfileError(`${where}: COPY source ${src} does not exist`);
          const into = dest.endsWith('/') || words.length > 1 ? join(target, src.split('/').pop()!) : target;
          mkdirSync(join(into, '..'), { recursive: true });
          cpSync(path, statSync(path).isDirectory() && dest.endsWith('/') ? target : into, {
            recursive: true,
          });
        }
        log(`COPY ${args}`);
        break;
      }
      case 'RUN':
        log(`RUN ${args}`);
        execFileSync('sh', ['-c', args], {
          cwd: join(stage.root, stage.workdir),
          env: { ...process.env, ...stage.env },
          stdio: ['ignore', 'inherit', 'inherit'],
        });
        break;
      case 'USER':
        stage.user = args;
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = JSON.parse(args) as string[];
        break;
      case 'ARG':
      case 'LABEL':
      case 'EXPOSE':
      case 'CMD':
        break;
      default:
        throw new DockerfileError(`${where}: ${keyword} is not supported by this runner`);
    }
  }
  const final = stages.at(-1);
  if (!final) throw new DockerfileError(`${options.dockerfile} has no FROM`);
  return final;
}

/** The final stage's ENTRYPOINT as a command on this machine: absolute paths mapped into the stage root. */
export function entrypointCommand(stage: Stage): [string, ...string[]] {
  const [bin, ...args] = stage.entrypoint ?? [];
  if (!bin) throw new DockerfileError('the final stage has no ENTRYPOINT');
  return [
    bin,
    ...args.map((a) => (a.startsWith('/') && existsSync(join(stage.root, a)) ? join(stage.root, a) : a)),
  ];
}
