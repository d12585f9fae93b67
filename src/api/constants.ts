/** Identity of the TelemetryStack API. */
export const API_GROUP = 'telemetrystack.io';
export const API_VERSION = 'v1alpha1';
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;
export const KIND = 'TelemetryStack';
export const LIST_KIND = 'TelemetryStackList';
export const PLURAL = 'telemetrystacks';
export const SINGULAR = 'telemetrystack';
export const SHORT_NAMES = ['tstack'] as const;
export const CRD_NAME = `${PLURAL}.${API_GROUP}`;

/** A namespace name (DNS-1123 label), at most 63 characters. */
export const NAMESPACE_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const isNamespaceName = (name: string) => name.length <= 63 && NAMESPACE_NAME_PATTERN.test(name);

/** Longest stack name: derived names such as `<stack>-clickhouse-headless` and StatefulSet revision labels must stay within 63 characters. */
export const MAX_STACK_NAME_LENGTH = 40;
/** Longest user name: it becomes part of a ClickHouse user name and of a Secret name. */
export const MAX_USER_NAME_LENGTH = 32;

/**
 * Attribute the collector stamps with the authenticated ingestion user on every log record and
 * data point. The sanitizer, the collector config and the ClickHouse schema all key on it.
 */
export const IDENTITY_ATTRIBUTE = 'enduser.id';

/**
 * Shortening retention deletes data at ClickHouse's next merge, and nothing brings it back. The
 * operator withholds a shorter TTL until this annotation on the stack lists it, as
 * `<signal>=<days>` pairs separated by commas, e.g. `eventsDays=30,metricsDays=30`.
 */
export const SHORTEN_RETENTION_ANNOTATION = `${API_GROUP}/shorten-retention`;

/**
 * A Secret the spec names (upstream.headersSecret, clickhouse.external.credentialsSecret) is read
 * or referenced only when it carries this label with the value "true". Editing a stack must not
 * be a way to send any Secret of the namespace to an endpoint of the editor's choosing: the
 * label is set by whoever may write that Secret (docs/OPERATIONS.md, "Secret references and subjects").
 */
export const REFERENCEABLE_LABEL = `${API_GROUP}/referenceable`;

/**
 * Deleting an external-mode stack first removes its users from the external ClickHouse; with this
 * annotation set to "true" the operator skips that (ClickHouse is gone or unreachable for good)
 * and lets the stack go, leaving the users for a person to drop.
 */
export const SKIP_CLEANUP_ANNOTATION = `${API_GROUP}/skip-clickhouse-cleanup`;

/** The `<signal>=<days>` pairs the annotation confirms (unparseable entries confirm nothing). */
export function confirmedShortening(annotations: Readonly<Record<string, string>> | undefined): Set<string> {
  const value = annotations?.[SHORTEN_RETENTION_ANNOTATION] ?? '';
  return new Set(
    value
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => /^[a-zA-Z]+=\d+$/.test(entry)),
  );
}

/**
 * Where an image built for `grafana.plugins: image` holds its plugins: outside /var/lib/grafana,
 * which the pod mounts as an empty volume (Grafana's database lives there and is recreated by
 * provisioning at each start).
 */
export const GRAFANA_IMAGE_PLUGINS_DIR = '/var/lib/grafana-plugins';
