/**
 * What forwarding between two stacks needs that a single collector test does not: a throwaway
 * certificate authority (the openssl CLI, as harness/cluster.ts uses it), and a TCP tap
 * between the forwarding collector and the receiving one that records every byte the forwarder
 * sends, so a test can show that nothing crossed the wire outside TLS records. The tap's target
 * is read on each connection, so the receiving collector may stop and start again on new ports
 * while the forwarder keeps the tap's address (an outage with a stable endpoint).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ThrowawayPki {
  readonly dir: string;
  /** A directory holding ca.crt: what upstream.caSecret mounts (COLLECTOR_PATHS.upstreamCaDir). */
  readonly caDir: string;
  /** A directory holding tls.crt and tls.key for 127.0.0.1 and localhost, signed by that CA: what collector.tls mounts. */
  readonly servingDir: string;
  /** A directory holding the ca.crt of another CA, which did not sign the serving certificate. */
  readonly otherCaDir: string;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args[0]} failed (forwarding tests need the openssl CLI: apt-get install openssl): ${stderr || String(error)}`);
  }
}

/** A CA, a serving certificate it signed (EC P-256: fast to make), and an unrelated second CA. */
export function throwawayPki(): ThrowawayPki {
  const dir = mkdtempSync(join(tmpdir(), 'tstack-forwarding-pki-'));
  const ca = (name: string) => {
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], dir);
    openssl(
      ['req', '-x509', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-days', '2', '-out', `${name}.crt`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
      dir,
    );
  };
  ca('team-ca');
  ca('other-ca');
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'serving.key'], dir);
  openssl(['req', '-new', '-key', 'serving.key', '-subj', '/CN=team-collector', '-out', 'serving.csr'], dir);
  writeFileSync(
    join(dir, 'serving.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  );
  openssl(['x509', '-req', '-in', 'serving.csr', '-CA', 'team-ca.crt', '-CAkey', 'team-ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'serving.ext', '-out', 'serving.crt'], dir);

  const folder = (name: string, files: Record<string, string>) => {
    const path = join(dir, name);
    mkdirSync(path);
    for (const [file, from] of Object.entries(files)) writeFileSync(join(path, file), readFileSync(join(dir, from)));
    return path;
  };
  return {
    dir,
    caDir: folder('upstream-ca', { 'ca.crt': 'team-ca.crt' }),
    // As a kubernetes.io/tls Secret from cert-manager's CA issuer: the chain's CA as ca.crt too.
    servingDir: folder('serving', { 'tls.crt': 'serving.crt', 'tls.key': 'serving.key', 'ca.crt': 'team-ca.crt' }),
    otherCaDir: folder('other-ca', { 'ca.crt': 'other-ca.crt' }),
  };
}

export interface TappedConnection {
  /** Every byte the forwarder sent on this connection, in order. */
  readonly sent: Buffer[];
  /** True once the target accepted the connection. */
  reached: boolean;
  /** True when the target refused it (the receiving collector was down). */
  refused: boolean;
}

/** A TCP pass-through on 127.0.0.1 that records what clients send; the target port is read per connection. */
export class TcpTap {
  readonly connections: TappedConnection[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  private readonly target: () => number | undefined;

  constructor(target: () => number | undefined) {
    this.target = target;
  }

  get port(): number {
    return (this.server!.address() as { port: number }).port;
  }

  async start(): Promise<this> {
    this.server = createServer((client) => {
      const connection: TappedConnection = { sent: [], reached: false, refused: false };
      this.connections.push(connection);
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => client.destroy());
      const port = this.target();
      if (port === undefined) {
        client.destroy();
        return;
      }
      const upstream = connect(port, '127.0.0.1');
      this.sockets.add(upstream);
      upstream.on('close', () => {
        this.sockets.delete(upstream);
        client.destroy();
      });
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ECONNREFUSED') connection.refused = true;
        upstream.destroy();
      });
      upstream.on('connect', () => {
        connection.reached = true;
      });
      client.on('close', () => upstream.destroy());
      client.on('data', (chunk: Buffer) => {
        connection.sent.push(Buffer.from(chunk));
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => client.write(chunk));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, '127.0.0.1', () => resolve());
    });
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const RECORD_TYPES = new Set([0x14, 0x15, 0x16, 0x17]); // change_cipher_spec, alert, handshake, application_data

/**
 * Why a byte stream is not a sequence of TLS records, or undefined when it is: each record a
 * known content type, a TLS version, and a length within the limit, the first one a handshake
 * (the ClientHello). A stream cut short by a closed connection may end inside a record.
 */
export function notTlsRecords(stream: Buffer): string | undefined {
  if (stream.length === 0) return undefined;
  if (stream[0] !== 0x16) return `the first byte is 0x${stream[0]!.toString(16)}, not a TLS handshake record`;
  let at = 0;
  while (at + 5 <= stream.length) {
    const type = stream[at]!;
    const major = stream[at + 1]!;
    const length = stream.readUInt16BE(at + 3);
    if (!RECORD_TYPES.has(type)) return `byte ${at}: content type 0x${type.toString(16)} is not a TLS record`;
    if (major !== 0x03) return `byte ${at}: version ${major}.${stream[at + 2]} is not TLS`;
    if (length > 16_384 + 2_048) return `byte ${at}: record length ${length} is over TLS's limit`;
    at += 5 + length;
  }
  return undefined;
}
