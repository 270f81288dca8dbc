/**
 * A TLS 1.2 ClientHello, complete enough that a TLS server answers it (a ServerHello or an alert):
 * two cipher suites, no extensions. Its random starts with CR LF CR LF, so that an HTTP server that
 * reads a line or a header block before it answers (Go's net/http) answers at once too.
 */
const HELLO = Buffer.from([
  ...[0x16, 0x03, 0x01, 0x00, 0x2f], // record: handshake, 47 bytes
  ...[0x01, 0x00, 0x00, 0x2b], // ClientHello, 43 bytes
  ...[0x03, 0x03], // TLS 1.2
  ...[0x0d, 0x0a, 0x0d, 0x0a, ...new Array<number>(28).fill(0x2a)], // random
  0x00, // no session id
  ...[0x00, 0x04, 0xc0, 0x2f, 0x00, 0x9c], // ECDHE-RSA-AES128-GCM-SHA256, RSA-AES128-GCM-SHA256
  ...[0x01, 0x00], // no compression
]);

/**
 * speaksHttp sends a TLS ClientHello to HOST:PORT and says whether the answer is plain HTTP (its
 * first byte is 'H', which no TLS record starts with). Only a true answer means anything: a TLS
 * record, a closed or refused connection, or no answer by `deadline` (ms since the epoch) are all
 * false. Nothing else is sent: no request, no credentials.
 */
export async function speaksHttp(host: string, deadline: number): Promise<boolean> {
  const { hostname, port } = new URL(`http://${host}`);
  const { connect } = await import('node:net');
  return new Promise<boolean>((resolve) => {
    const socket = connect({ host: hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(port) });
    const done = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), Math.max(1, deadline - Date.now()));
    socket.once('connect', () => socket.write(HELLO));
    socket.once('data', (b: Buffer) => done(b[0] === 0x48));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}
