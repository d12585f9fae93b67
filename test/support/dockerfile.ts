/**
 * Runs a Dockerfile's build without Docker (none on these machines): each stage gets a
 * directory standing for its filesystem root, COPY copies from the build context or an earlier
 * stage, RUN runs in the stage's WORKDIR with the stage's ENV, on this process's Node (the test
 * checks that its major version is the one the FROM lines name). What it cannot honour it
 * records (USER, EXPOSE) or refuses (an instruction it does not know), so a Dockerfile edit it
 * does not understand fails the test instead of being skipped. A COPY of a path .dockerignore
 * excludes is refused too: Docker would not find it in the build context.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, posix } from 'node:path';

export interface DockerfileStage {
  name: string;
  from: string;
  /** The directory standing for the stage's "/". */
  root: string;
  workdir: string;
  env: Record<string, string>;
  user?: string;
  expose: number[];
  entrypoint: string[];
  cmd: string[];
}

export interface DockerfileBuild {
  stages: DockerfileStage[];
  final: DockerfileStage;
  /** ENTRYPOINT of the final stage with container paths mapped into its root. */
  entrypoint: string[];
  /** ENTRYPOINT + CMD, mapped the same way: what `docker run IMAGE` runs. */
  argv: string[];
  /** A container path of the final stage, as a path on this machine. */
  hostPath(containerPath: string): string;
}

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Instructions with continuation lines joined and comments dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const start = index;
    let line = lines[index]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    while (line.endsWith('\\') && index + 1 < lines.length) {
      index++;
      const next = lines[index]!.trim();
      line = `${line.slice(0, -1).trimEnd()} ${next.startsWith('#') ? '' : next}`.trimEnd();
    }
    const match = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!match) throw new Error(`Dockerfile line ${start + 1}: cannot read "${line}"`);
    instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: start + 1 });
  }
  return instructions;
}

/** Builds every stage under `into` and returns the final one. RUN output goes to `log`. */
export function buildDockerfile(options: { dockerfile: string; context: string; into: string; log: (line: string) => void }): DockerfileBuild {
  const stages: DockerfileStage[] = [];
  let stage: DockerfileStage | undefined;
  const ignoreFile = join(options.context, '.dockerignore');
  const ignored = existsSync(ignoreFile)
    ? readFileSync(ignoreFile, 'utf8')
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '' && !line.startsWith('#'))
    : [];
  const isIgnored = (path: string) => {
    const top = posix.normalize(path).split('/')[0]!;
    return ignored.some((pattern) => pattern === top || (pattern.startsWith('*.') && top.endsWith(pattern.slice(1))));
  };
  const inStage = (containerPath: string, current: DockerfileStage) => join(current.root, posix.resolve(current.workdir, containerPath));

  for (const instruction of parseDockerfile(readFileSync(options.dockerfile, 'utf8'))) {
    const where = `Dockerfile line ${instruction.line} (${instruction.keyword})`;
    if (instruction.keyword === 'FROM') {
      const [image, as, name] = instruction.args.split(/\s+/);
      const stageName = as?.toUpperCase() === 'AS' && name ? name : String(stages.length);
      stage = { name: stageName, from: image!, root: join(options.into, `stage-${stages.length}-${stageName}`), workdir: '/', env: {}, expose: [], entrypoint: [], cmd: [] };
      mkdirSync(stage.root, { recursive: true });
      stages.push(stage);
      continue;
    }
    if (!stage) throw new Error(`${where}: comes before any FROM`);
    switch (instruction.keyword) {
      case 'WORKDIR':
        stage.workdir = posix.resolve(stage.workdir, instruction.args);
        mkdirSync(inStage('.', stage), { recursive: true });
        break;
      case 'ENV': {
        const match = /^([A-Za-z_][A-Za-z0-9_]*)[=\s]+(.*)$/.exec(instruction.args);
        if (!match) throw new Error(`${where}: expected NAME=value`);
        stage.env[match[1]!] = match[2]!;
        break;
      }
      case 'COPY': {
        const words = instruction.args.split(/\s+/);
        let source = { root: options.context, base: '/' };
        while (words[0]?.startsWith('--')) {
          const flag = words.shift()!;
          const from = /^--from=(.+)$/.exec(flag);
          if (!from) throw new Error(`${where}: unsupported flag ${flag}`);
          const earlier = stages.find((candidate) => candidate.name === from[1]);
          if (!earlier) throw new Error(`${where}: no earlier stage named ${from[1]}`);
          source = { root: earlier.root, base: earlier.workdir };
        }
        const destination = words.pop()!;
        if (words.length === 0) throw new Error(`${where}: COPY needs a source and a destination`);
        for (const word of words) {
          if (source.root === options.context && isIgnored(word)) throw new Error(`${where}: ${word} is excluded by .dockerignore, so docker build would not find it`);
          const from = source.root === options.context ? join(options.context, word) : join(source.root, posix.resolve(source.base, word));
          if (!existsSync(from)) throw new Error(`${where}: ${word} does not exist`);
          const into = inStage(destination, stage);
          // COPY a b ./ puts files into the directory; COPY dir ./dir copies the directory's contents.
          const target = destination.endsWith('/') && !statSync(from).isDirectory() ? join(into, basename(from)) : into;
          mkdirSync(dirname(target), { recursive: true });
          cpSync(from, target, { recursive: true });
        }
        break;
      }
      case 'RUN': {
        options.log(`[${stage.name}] RUN ${instruction.args}`);
        let output: string;
        try {
          output = execFileSync('sh', ['-c', instruction.args], {
            cwd: inStage('.', stage),
            env: { ...process.env, ...stage.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` },
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'pipe'],
            maxBuffer: 64 * 1024 * 1024,
          });
        } catch (error) {
          const failed = error as { status?: number; stderr?: string };
          throw new Error(`${where}: exited with code ${failed.status}: ${(failed.stderr ?? '').trim().split('\n').slice(-10).join('\n')}`);
        }
        for (const line of output.split('\n').filter(Boolean)) options.log(`  ${line}`);
        break;
      }
      case 'USER':
        stage.user = instruction.args;
        break;
      case 'EXPOSE':
        stage.expose.push(...instruction.args.split(/\s+/).map((port) => Number.parseInt(port, 10)));
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = execForm(instruction.args, where);
        break;
      case 'CMD':
        stage.cmd = execForm(instruction.args, where);
        break;
      default:
        throw new Error(`${where}: not understood by the Docker-less build in test/support/dockerfile.ts; teach it or use a supported instruction`);
    }
  }
  if (!stage) throw new Error(`${options.dockerfile}: no FROM`);
  const final = stage;
  const hostPath = (containerPath: string) => join(final.root, posix.resolve(final.workdir, containerPath));
  const mapped = (args: string[]) => args.map((arg) => (isAbsolute(arg) && arg.startsWith(`${final.workdir}/`) ? hostPath(arg) : arg));
  const entrypoint = mapped(final.entrypoint);
  return { stages, final, entrypoint, argv: [...entrypoint, ...mapped(final.cmd)], hostPath };
}

function execForm(args: string, where: string): string[] {
  const parsed = JSON.parse(args) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) throw new Error(`${where}: use the exec form ["executable", "arg", ...]`);
  return parsed;
}
