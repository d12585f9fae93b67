/** Files of this checkout (or installed package) that `up` uses, and what it reads from them. */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { UserError } from '../framework/io.ts';
import type { KubeObject } from '../../kube/client.ts';

/** src/cli/journey (or build/cli/journey) -> the package root. */
export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..', '..');

export interface ProjectFiles {
  readonly root: string;
  readonly kindConfig: string;
  readonly dockerfile: string;
  readonly installManifest: string;
  /** The operator for every namespace (`up --cluster-wide`). */
  readonly clusterWideInstallManifest: string;
  readonly defaultStack: string;
}

export function projectFiles(root: string = PROJECT_ROOT): ProjectFiles {
  return {
    root,
    kindConfig: join(root, 'kind', 'cluster.yaml'),
    dockerfile: join(root, 'Dockerfile'),
    installManifest: join(root, 'dist', 'install.yaml'),
    clusterWideInstallManifest: join(root, 'dist', 'install-cluster-wide.yaml'),
    defaultStack: join(root, 'examples', 'local.yaml'),
  };
}

export function requireFile(path: string, what: string, fix: string): void {
  if (!existsSync(path)) throw new UserError(`${path}: ${what} is missing.\nFix: ${fix}.`);
}

/** The install manifest's objects, in file order (the CRD first). */
export function readInstallManifest(path: string): KubeObject[] {
  requireFile(path, 'the install manifest', 'run telemetry-stack from a checkout of the repository (dist/install.yaml is committed there)');
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((document) => document.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null && typeof object === 'object' && 'kind' in object);
}

interface DeploymentLike {
  kind: string;
  spec?: { template?: { spec?: { containers?: { image?: string; imagePullPolicy?: string }[] } } };
}

/** The operator's image as the install manifest names it: `up` builds and loads it under exactly this reference. */
export function operatorImage(objects: readonly KubeObject[], source: string): string {
  const deployment = objects.find((o) => o.kind === 'Deployment') as DeploymentLike | undefined;
  const image = deployment?.spec?.template?.spec?.containers?.[0]?.image;
  if (!image) throw new UserError(`${source}: no Deployment with a container image; the install manifest is incomplete (regenerate it with npm run generate)`);
  return image;
}

/**
 * Makes the operator Deployment use an image loaded into the node: with a ":latest" tag or
 * no tag Kubernetes would otherwise try to pull it (ErrImagePull).
 */
export function withLocalImage(objects: readonly KubeObject[], image: string): KubeObject[] {
  return objects.map((object) => {
    if (object.kind !== 'Deployment') return object;
    const copy = structuredClone(object) as KubeObject & DeploymentLike;
    for (const container of copy.spec?.template?.spec?.containers ?? []) {
      container.image = image;
      container.imagePullPolicy = 'IfNotPresent';
    }
    return copy;
  });
}
