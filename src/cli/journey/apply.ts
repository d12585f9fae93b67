/**
 * Server-side apply of plain JSON objects, with resource paths found through API
 * discovery (so a CRD's kinds work as soon as it is established), one field manager.
 */
import { UserError } from '../errors.ts';
import type { KubeObject } from '../../kube/client.ts';
import { type Kube, requestFailed, statusMessage } from './kube.ts';

export const FIELD_MANAGER = 'telemetry-stack-cli';


interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** Resource paths by apiVersion, refreshed on a miss (a CRD applied a moment ago). */
export class ResourcePaths {
  private readonly cache = new Map<string, ApiResource[]>();
  private readonly kube: Kube;
  constructor(kube: Kube) {
    this.kube = kube;
  }

  async path(object: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): Promise<string> {
    let resource = (await this.resources(object.apiVersion, false)).find((r) => r.kind === object.kind);
    resource ??= (await this.resources(object.apiVersion, true)).find((r) => r.kind === object.kind);
    if (!resource) {
      throw new UserError(
        `the cluster does not serve ${object.kind} (${object.apiVersion}) (context "${this.kube.context}").\nFix: install its CustomResourceDefinition first, or check the Kubernetes version.`,
      );
    }
    const prefix = object.apiVersion.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
    const scope = resource.namespaced ? `/namespaces/${object.metadata.namespace ?? 'default'}` : '';
    return `${prefix}${scope}/${resource.name}/${object.metadata.name}`;
  }

  private async resources(apiVersion: string, refresh: boolean): Promise<ApiResource[]> {
    const cached = this.cache.get(apiVersion);
    if (cached && !refresh) return cached;
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const response = await this.kube.request<{ resources?: ApiResource[] }>('GET', path);
    const resources = response.status === 200 ? (response.body.resources ?? []).filter((r) => !r.name.includes('/')) : [];
    this.cache.set(apiVersion, resources);
    return resources;
  }
}

const describe = (object: KubeObject) => `${object.kind} ${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`;

export async function applyObject(kube: Kube, paths: ResourcePaths, object: KubeObject): Promise<void> {
  const path = await paths.path(object);
  const response = await kube.request('PATCH', `${path}?fieldManager=${FIELD_MANAGER}&force=true`, {
    body: object,
    // JSON is YAML: the apply-patch content type takes the object as it is.
    contentType: 'application/apply-patch+yaml',
  });
  if (response.status === 422 || response.status === 400) {
    throw new UserError(`the API server rejected ${describe(object)}: ${statusMessage(response.body)}\nFix: correct the field named above and run the command again.`);
  }
  if (response.status >= 300) throw requestFailed(kube, `applying ${describe(object)}`, response);
}

/** DELETE with background propagation; true when it existed. */
export async function deleteObject(kube: Kube, paths: ResourcePaths, object: KubeObject): Promise<boolean> {
  const path = await paths.path(object);
  const response = await kube.request('DELETE', path, { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' } });
  if (response.status === 404) return false;
  if (response.status >= 300) throw requestFailed(kube, `deleting ${describe(object)}`, response);
  return true;
}
