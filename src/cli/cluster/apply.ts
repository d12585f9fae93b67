/**
 * The CLI's writes: server-side apply (src/kube/client.ts, the operator's too) under its own
 * field manager, with paths from API discovery (src/kube/discovery.ts) so that any kind an
 * install manifest holds works; failures become user messages.
 */
import { Discovery } from '../../kube/discovery.ts';
import { type KubeObject, serverSideApply } from '../../kube/client.ts';
import { UserError } from '../framework/io.ts';
import { explain, type Kube, requestFailed } from './connection.ts';

export const FIELD_MANAGER = 'telemetry-stack-cli';

/** Discovery with the CLI's message for a kind the cluster does not serve. */
export class ResourcePaths {
  private readonly discovery: Discovery;
  private readonly kube: Kube;
  constructor(kube: Kube) {
    this.kube = kube;
    this.discovery = new Discovery(kube.client);
  }

  async path(object: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): Promise<string> {
    let path: string | undefined;
    try {
      path = await this.discovery.path(object);
    } catch (error) {
      throw explain(this.kube, `discovering ${object.apiVersion}`, error);
    }
    if (path === undefined) {
      throw new NotServedError(
        `the cluster does not serve ${object.kind} (${object.apiVersion}) (context "${this.kube.context}").\nFix: install its CustomResourceDefinition first, or check the Kubernetes version.`,
      );
    }
    return path;
  }
}

/** A kind the cluster does not serve (its CRD is not installed). */
export class NotServedError extends UserError {}

const describe = (object: KubeObject) => `${object.kind} ${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`;

export async function applyObject(kube: Kube, paths: ResourcePaths, object: KubeObject): Promise<void> {
  const path = await paths.path(object);
  try {
    await serverSideApply(kube.client, path, object, { fieldManager: FIELD_MANAGER, force: true });
  } catch (error) {
    throw explain(kube, `applying ${describe(object)}`, error);
  }
}

/** DELETE with background propagation; true when it existed. */
export async function deleteObject(kube: Kube, paths: ResourcePaths, object: KubeObject): Promise<boolean> {
  const path = await paths.path(object);
  const response = await kube.request('DELETE', path, { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' } });
  if (response.status === 404) return false;
  if (response.status >= 300) throw requestFailed(kube, `deleting ${describe(object)}`, response);
  return true;
}
