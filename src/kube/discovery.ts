/**
 * REST paths of arbitrary kinds through API discovery, so that a kind served by a CRD applied a
 * moment ago works as soon as it is established. The operator knows its few kinds statically
 * (src/operator/resources.ts); the CLI applies whatever an install manifest holds.
 */
import { isNotFound, type KubeClient, type KubeObject } from './client.ts';

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** Resource paths by apiVersion, looked up again on a miss (a CRD applied a moment ago). */
export class Discovery {
  private readonly cache = new Map<string, ApiResource[]>();
  private readonly client: KubeClient;
  constructor(client: KubeClient) {
    this.client = client;
  }

  /** The object's path, or undefined when the cluster does not serve its kind. */
  async path(object: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): Promise<string | undefined> {
    let resource = (await this.resources(object.apiVersion, false)).find((r) => r.kind === object.kind);
    resource ??= (await this.resources(object.apiVersion, true)).find((r) => r.kind === object.kind);
    if (!resource) return undefined;
    const prefix = object.apiVersion.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
    const scope = resource.namespaced ? `/namespaces/${object.metadata.namespace ?? 'default'}` : '';
    return `${prefix}${scope}/${resource.name}/${object.metadata.name}`;
  }

  private async resources(apiVersion: string, refresh: boolean): Promise<ApiResource[]> {
    const cached = this.cache.get(apiVersion);
    if (cached && !refresh) return cached;
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    let resources: ApiResource[] = [];
    try {
      const list = await this.client.request<{ resources?: ApiResource[] }>('GET', path);
      resources = (list.resources ?? []).filter((r) => !r.name.includes('/'));
    } catch (error) {
      // A group version nobody serves is a 404: its kinds are simply not served.
      if (!isNotFound(error)) throw error;
    }
    this.cache.set(apiVersion, resources);
    return resources;
  }
}
