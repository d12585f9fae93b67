/**
 * Writing values into the collector's configuration so that only the chart's own references
 * are references.
 *
 * The collector's config resolver (confmap, v1.67 in collector 0.161) reads `${scheme:value}`
 * (and `${NAME}`: env is the default scheme) anywhere inside a string value and replaces it with
 * what the provider returns: `${env:CLICKHOUSE_PASSWORD}` in an endpoint would send the ingest
 * password to whoever runs that host, and a malformed `${` makes the collector refuse its whole
 * configuration. It expands again until nothing changes, skips a `${` that follows an odd run of
 * "$", and finally turns every "$$" into "$". So a literal "$" is written "$$", always.
 *
 * The configuration is therefore built as a tree whose strings are plain text, and references
 * are objects (EnvReference, or ConfigText for a string that mixes text and references).
 * `toConfmap` escapes every string of the tree once, at the end, and writes out only those
 * objects as `${env:...}`. A builder cannot forget to escape a value (there is nothing to
 * call), and no spec string can become a reference, whatever field it travels in.
 */

/** Environment variable names the chart references: what a Kubernetes env var and confmap's env provider both accept. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `${env:NAME}`, written by the chart itself. The only way a reference reaches the collector. */
export class EnvReference {
  readonly name: string;

  constructor(name: string) {
    this.name = name;
    if (!ENV_NAME.test(name)) throw new Error(`not an environment variable name: ${JSON.stringify(name)}`);
  }

  /** A reference interpolated into a plain string would be escaped into a literal: refuse loudly instead. */
  toString(): never {
    throw new Error(`EnvReference(${this.name}) used as a string: build the value with configText\`...\``);
  }
}

/** A string value made of text (escaped when written) and references (written as is). */
export class ConfigText {
  readonly parts: readonly (string | EnvReference)[];

  constructor(parts: readonly (string | EnvReference)[]) {
    this.parts = parts;
  }

  toString(): never {
    throw new Error('ConfigText used as a string: nest it in configText`...` instead');
  }
}

export const envReference = (name: string) => new EnvReference(name);

type TextPart = string | EnvReference | ConfigText;

/**
 * A tagged template for values that hold a reference: configText`"${envReference('KEY')}${input}"`.
 * Both the template's text and interpolated strings are text; references and nested
 * ConfigText keep their references.
 */
export function configText(strings: TemplateStringsArray, ...values: TextPart[]): ConfigText {
  const parts: (string | EnvReference)[] = [];
  strings.forEach((text, index) => {
    parts.push(text);
    if (index >= values.length) return;
    const value = values[index]!;
    if (value instanceof ConfigText) parts.push(...value.parts);
    else parts.push(value);
  });
  return new ConfigText(parts);
}

/** A literal "$" for the resolver: "$$" (confmap turns it back into "$" after expansion). */
export function escapeForConfmap(text: string): string {
  return text.replace(/\$/g, '$$$$');
}

const referenceText = (reference: EnvReference) => `\${env:${reference.name}}`;

/**
 * The tree as the collector must read it: every string escaped, every reference written out.
 * Map keys are left alone: confmap expands values only, so escaping a key would double its "$".
 */
export function toConfmap(value: unknown): unknown {
  if (typeof value === 'string') return escapeForConfmap(value);
  if (value instanceof EnvReference) return referenceText(value);
  if (value instanceof ConfigText) {
    return value.parts.map((part) => (typeof part === 'string' ? escapeForConfmap(part) : referenceText(part))).join('');
  }
  if (Array.isArray(value)) return value.map(toConfmap);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toConfmap(item)]));
  }
  return value;
}
