/**
 * Validates an object against the Kubernetes OpenAPI schema of its kind, using the
 * maintained kubernetes-models package (schemas generated from the Kubernetes OpenAPI spec).
 */
export async function kubeSchemaErrors(object: { apiVersion: string; kind: string }): Promise<string | undefined> {
  const path = `kubernetes-models/${object.apiVersion}/${object.kind}`;
  const module = (await import(path)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = module[object.kind];
  if (!Model) throw new Error(`kubernetes-models has no model for ${object.apiVersion} ${object.kind}`);
  try {
    new Model(object).validate();
    return undefined;
  } catch (error) {
    return String(error);
  }
}
