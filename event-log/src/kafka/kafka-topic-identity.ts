import { connect, type Socket } from 'node:net';

/**
 * What names a Kafka topic for good: the cluster's id and the topic's id.
 * A topic deleted and created again under the same name gets a new topic id
 * (its offsets start again at 0), and another cluster has another cluster id.
 */
export interface KafkaTopicIdentity {
  readonly clusterId: string;
  readonly topicId: string;
}

const METADATA_API_KEY = 3;
/** The first Metadata version with topic ids in its answer is 10; 12 is the one Kafka 3.x and 4.x both serve. */
const METADATA_VERSION = 12;
const UNKNOWN_TOPIC_OR_PARTITION = 3;

/**
 * Asks one broker of `brokers` for the identity of `topic` with a single
 * Metadata (v12) request over a plain connection. kafkajs speaks Metadata up
 * to v6, which predates topic ids, so this small request is written here.
 * Resolves `undefined` while the topic does not exist; rejects when no broker
 * answers within `timeoutMs`.
 */
export async function fetchKafkaTopicIdentity(
  brokers: readonly string[],
  topic: string,
  options: { clientId: string; timeoutMs?: number },
): Promise<KafkaTopicIdentity | undefined> {
  let lastError: unknown;
  for (const broker of brokers) {
    try {
      return parseMetadataAnswer(await exchange(broker, metadataRequest(topic, options.clientId), options.timeoutMs ?? 5000), topic);
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`no broker of ${brokers.join(',')} told the identity of topic ${topic}`, { cause: lastError });
}

/** The request frame: size, header v2 (key, version, correlation id, client id, no tags), then the body. */
export function metadataRequest(topic: string, clientId: string): Buffer {
  const name = Buffer.from(topic, 'utf8');
  const client = Buffer.from(clientId, 'utf8');
  const body = Buffer.concat([
    uvarint(2), // one topic (compact arrays count n + 1)
    Buffer.alloc(16), // topic id: zero, the topic is asked for by name
    uvarint(name.length + 1),
    name,
    uvarint(0), // the topic's tagged fields
    Buffer.from([0, 0]), // allow_auto_topic_creation, include_topic_authorized_operations
    uvarint(0), // the body's tagged fields
  ]);
  const header = Buffer.alloc(10);
  header.writeInt16BE(METADATA_API_KEY, 0);
  header.writeInt16BE(METADATA_VERSION, 2);
  header.writeInt32BE(1, 4); // correlation id
  header.writeInt16BE(client.length, 8);
  const size = Buffer.alloc(4);
  const frame = Buffer.concat([header, client, uvarint(0), body]);
  size.writeInt32BE(frame.length, 0);
  return Buffer.concat([size, frame]);
}

/** Reads the answer's cluster id and the topic's id (the answer without its size prefix). */
export function parseMetadataAnswer(answer: Buffer, topic: string): KafkaTopicIdentity | undefined {
  const r = new Reader(answer);
  r.int32(); // correlation id
  r.tags();
  r.int32(); // throttle time
  for (let brokers = r.compactLength(); brokers > 0; brokers--) {
    r.int32(); // node id
    r.compactString(); // host
    r.int32(); // port
    r.compactString(); // rack
    r.tags();
  }
  const clusterId = r.compactString();
  r.int32(); // controller id
  if (r.compactLength() < 1) throw new Error('the metadata answer holds no topic');
  const errorCode = r.int16();
  const name = r.compactString();
  const topicId = r.bytes(16).toString('hex');
  if (errorCode === UNKNOWN_TOPIC_OR_PARTITION) return undefined;
  if (errorCode !== 0) throw new Error(`metadata of topic ${topic} failed with Kafka error code ${errorCode}`);
  if (name !== topic) throw new Error(`the metadata answer is about topic ${name}, not ${topic}`);
  if (clusterId === null) throw new Error('the broker did not tell its cluster id');
  return { clusterId, topicId };
}

function uvarint(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

class Reader {
  private at = 0;
  private readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  int16(): number {
    const v = this.buf.readInt16BE(this.at);
    this.at += 2;
    return v;
  }
  int32(): number {
    const v = this.buf.readInt32BE(this.at);
    this.at += 4;
    return v;
  }
  uvarint(): number {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = this.buf.readUInt8(this.at++);
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
  }
  bytes(n: number): Buffer {
    if (this.at + n > this.buf.length) throw new RangeError('the metadata answer ends early');
    const v = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  /** A compact array's element count (n + 1 on the wire; 0 is null, read as empty). */
  compactLength(): number {
    return Math.max(0, this.uvarint() - 1);
  }
  compactString(): string | null {
    const n = this.uvarint();
    return n === 0 ? null : this.bytes(n - 1).toString('utf8');
  }
  tags(): void {
    for (let n = this.uvarint(); n > 0; n--) {
      this.uvarint(); // tag
      this.bytes(this.uvarint());
    }
  }
}

/** Sends one request frame to `broker` (`host:port`) and resolves the answer's frame without its size prefix. */
function exchange(broker: string, frame: Buffer, timeoutMs: number): Promise<Buffer> {
  const colon = broker.lastIndexOf(':');
  const host = broker.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(broker.slice(colon + 1));
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host, port });
    const chunks: Buffer[] = [];
    let received = 0;
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`broker ${broker} did not answer in ${timeoutMs} ms`)));
    socket.on('error', fail);
    socket.on('connect', () => socket.write(frame));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received < 4) return;
      const all = Buffer.concat(chunks, received);
      const size = all.readInt32BE(0);
      if (received < 4 + size) return;
      socket.end();
      resolve(all.subarray(4, 4 + size));
    });
    socket.on('close', () => reject(new Error(`broker ${broker} closed the connection before answering`)));
  });
}
