/** The Docker-less Dockerfile build that test/image-build relies on, on small Dockerfiles. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDockerfile, parseDockerfile } from './support/dockerfile.ts';

function context(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'tstack-dockerfile-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const build = (root: string) => buildDockerfile({ dockerfile: join(root, 'Dockerfile'), context: root, into: join(root, 'out'), log: () => {} });

describe('the Docker-less Dockerfile build', () => {
  it('joins continuation lines and drops comments', () => {
    expect(parseDockerfile('# c\nFROM node:24.1.0 AS build\nRUN echo a \\\n  && echo b\n')).toEqual([
      { keyword: 'FROM', args: 'node:24.1.0 AS build', line: 2 },
      { keyword: 'RUN', args: 'echo a && echo b', line: 3 },
    ]);
  });

  it('runs stages: WORKDIR, ENV, COPY from the context and from a stage, RUN, and maps ENTRYPOINT into the final root', () => {
    const root = context({
      'Dockerfile': [
        'FROM node:24.1.0 AS build',
        'WORKDIR /app',
        'COPY src ./src',
        'ENV GREETING=hello',
        'RUN mkdir out && cat src/a.txt > out/a.txt && echo "$GREETING" >> out/a.txt',
        'FROM node:24.1.0',
        'WORKDIR /app',
        'COPY --from=build /app/out ./out',
        'COPY package.json ./',
        'USER 1000:1000',
        'EXPOSE 8080',
        'ENTRYPOINT ["node", "/app/out/a.txt"]',
        'CMD ["operator"]',
      ].join('\n'),
      'src/a.txt': 'from src\n',
      'package.json': '{}',
    });
    const image = build(root);
    expect(image.stages.map((stage) => stage.name)).toEqual(['build', '1']);
    expect(readFileSync(image.hostPath('out/a.txt'), 'utf8')).toBe('from src\nhello\n');
    expect(readFileSync(image.hostPath('package.json'), 'utf8')).toBe('{}');
    expect(image.entrypoint).toEqual(['node', image.hostPath('out/a.txt')]);
    expect(image.argv).toEqual(['node', image.hostPath('out/a.txt'), 'operator']);
    expect(image.final).toMatchObject({ user: '1000:1000', expose: [8080], workdir: '/app' });
  });

  it('refuses what it cannot honour: an unknown instruction, a path .dockerignore excludes, a failing RUN', () => {
    expect(() => build(context({ 'Dockerfile': 'FROM node:24.1.0\nHEALTHCHECK CMD true\n' }))).toThrow(/line 2 \(HEALTHCHECK\): not understood/);
    expect(() => build(context({ 'Dockerfile': 'FROM node:24.1.0\nCOPY test ./test\n', '.dockerignore': 'test\n', 'test/x': '' }))).toThrow(/test is excluded by \.dockerignore/);
    expect(() => build(context({ 'Dockerfile': 'FROM node:24.1.0\nRUN echo broken >&2; exit 3\n' }))).toThrow(/^Dockerfile line 2 \(RUN\): exited with code 3: broken$/);
  });
});
