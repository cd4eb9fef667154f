import should from 'should';
import { Dealer, Publisher, Subscriber, capability } from 'zeromq';

import { ZapHandler, z85Decode } from '../../../lib/cluster/zap';
import { freePort } from '../../support/ports';
import { eventually } from '../../support/coreNode';

const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';

/**
 * Key pairs of libzmq's own CURVE tests (tests/testutil_security): valid Z85
 * keys without needing curveKeyPair(), which a zeromq built without CURVE lacks.
 */
const CLUSTER = { publicKey: 'rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7', secretKey: 'JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6' };
const OTHER = { publicKey: 'Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID', secretKey: 'D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs' };

/** the reply of a ZAP handler (RFC 27) to one request, sent by hand over a DEALER */
async function zapRequest (fields: {
  version?: string; requestId?: string; mechanism?: string; clientKey?: Buffer | null;
}): Promise<string[]> {
  const dealer = new Dealer({ linger: 0, receiveTimeout: 2000 });
  dealer.connect(ZAP_ENDPOINT);
  try {
    const frames: Array<string | Buffer> = [
      '', fields.version ?? '1.0', fields.requestId ?? 'req-1', 'kuzzle-cluster', '10.0.0.9', '',
      fields.mechanism ?? 'CURVE',
    ];
    if (fields.clientKey) {
      frames.push(fields.clientKey);
    }
    await dealer.send(frames);
    const reply = await dealer.receive();
    return reply.map(frame => frame.toString());
  }
  finally {
    dealer.close();
  }
}

describe('zap', () => {
  describe('z85Decode', () => {
    it('decodes the RFC 32 test vector', () => {
      should(z85Decode('HelloWorld')).eql(Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]));
    });

    it('decodes a CURVE key (40 characters) to its 32 bytes', () => {
      should(z85Decode(CLUSTER.publicKey)).have.length(32);
      should(z85Decode(CLUSTER.publicKey)).not.eql(z85Decode(OTHER.publicKey));
    });

    it('decodes the largest group (4 bytes of 0xff) and all zeros', () => {
      should(z85Decode('%nSc0')).eql(Buffer.from([0xff, 0xff, 0xff, 0xff]));
      should(z85Decode('00000')).eql(Buffer.alloc(4));
      should(z85Decode('')).eql(Buffer.alloc(0));
    });

    it('refuses a length that is not a multiple of 5, and characters outside the alphabet', () => {
      should(() => z85Decode('Hello1')).throw(/multiple of 5/);
      should(() => z85Decode('Hell~')).throw(/invalid Z85 character "~"/);
      should(() => z85Decode('Hell ')).throw(/invalid Z85 character " "/);
    });
  });

  describe('ZapHandler (ZAP requests over inproc)', function () {
    this.timeout(10000);

    const cluster = CLUSTER;
    let zap: ZapHandler;

    beforeEach(async () => {
      zap = new ZapHandler(cluster.publicKey);
      await zap.start();
    });

    afterEach(() => {
      zap.close();
    });

    it('accepts CURVE with the cluster\'s own public key: 200, request id echoed', async () => {
      const reply = await zapRequest({ clientKey: z85Decode(cluster.publicKey), requestId: 'abc' });
      should(reply).eql(['', '1.0', 'abc', '200', 'OK', '', '']);
      should(zap.denied).equal(0);
    });

    it('refuses another key: 400, counted', async () => {
      const reply = await zapRequest({ clientKey: z85Decode(OTHER.publicKey), requestId: 'r2' });
      should(reply).eql(['', '1.0', 'r2', '400', 'not a cluster key', '', '']);
      should(zap.denied).equal(1);
    });

    it('refuses another mechanism (NULL, PLAIN) even with the key, and a request without a key', async () => {
      const key = z85Decode(cluster.publicKey);
      should((await zapRequest({ clientKey: key, mechanism: 'NULL' }))[3]).equal('400');
      should((await zapRequest({ clientKey: key, mechanism: 'PLAIN' }))[3]).equal('400');
      should((await zapRequest({ clientKey: null }))[3]).equal('400');
      should(zap.denied).equal(3);
    });

    it('keeps serving after a refusal', async () => {
      await zapRequest({ clientKey: z85Decode(OTHER.publicKey) });
      should((await zapRequest({ clientKey: z85Decode(cluster.publicKey) }))[3]).equal('200');
      should(zap.denied).equal(1);
    });

    it('close() frees the ZAP endpoint (a new handler can bind it)', async () => {
      zap.close();
      zap = new ZapHandler(cluster.publicKey);
      await zap.start();
      should((await zapRequest({ clientKey: z85Decode(cluster.publicKey) }))[3]).equal('200');
    });
  });

  describe('ZapHandler guarding a real CURVE socket', function () {
    this.timeout(15000);

    const cluster = CLUSTER;
    let zap: ZapHandler | null = null;
    const sockets: Array<Publisher | Subscriber> = [];

    before(function () {
      if (!capability.curve) {
        // this zeromq build has no CURVE (libsodium): nothing to guard
        this.skip();
      }
    });

    afterEach(() => {
      for (const socket of sockets.splice(0)) {
        socket.close();
      }
      zap?.close();
    });

    async function server (): Promise<{ pub: Publisher; url: string; handler: ZapHandler }> {
      const handler = new ZapHandler(cluster.publicKey);
      zap = handler;
      await handler.start();
      const pub = new Publisher({ linger: 0 });
      pub.zapDomain = 'kuzzle-cluster';
      pub.curveServer = true;
      pub.curveSecretKey = cluster.secretKey;
      pub.curvePublicKey = cluster.publicKey;
      const url = `tcp://127.0.0.1:${await freePort()}`;
      await pub.bind(url);
      sockets.push(pub);
      return { handler, pub, url };
    }

    function client (url: string, keys: { publicKey: string; secretKey: string }): Subscriber {
      const sub = new Subscriber({ linger: 0, receiveTimeout: 50 });
      sub.curveServerKey = cluster.publicKey;
      sub.curvePublicKey = keys.publicKey;
      sub.curveSecretKey = keys.secretKey;
      sub.connect(url);
      sub.subscribe('B');
      sockets.push(sub);
      return sub;
    }

    async function receivesOne (pub: Publisher, sub: Subscriber): Promise<boolean> {
      await pub.send(['B', 'probe']);
      try {
        await sub.receive();
        return true;
      }
      catch {
        return false;
      }
    }

    it('a peer with the cluster keys is admitted, one with its own keys is denied and hears nothing', async () => {
      const { handler, pub, url } = await server();
      const stranger = client(url, OTHER);
      const member = client(url, cluster);

      await eventually('the member receives', () => receivesOne(pub, member));
      await eventually('the stranger was denied', () => handler.denied > 0);
      should(await receivesOne(pub, stranger)).be.false();
    });
  });
});
