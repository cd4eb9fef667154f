'use strict';

/**
 * Test-only Kuzzle plugin (end-to-end suite): registers an authentication
 * strategy at runtime on demand, and broadcasts/records app-level cluster
 * events through context.accessors.cluster.
 */

/** A minimal passport strategy: logs in whoever gives the right token */
class TokenAuthenticator {
  constructor (options, verify) {
    this.name = 'token';
    this.verify = verify;
  }

  authenticate (req) {
    this.verify(req, req.body && req.body.token, (error, user, info) => {
      if (error) {
        this.error(error);
      }
      else if (!user) {
        this.fail(info);
      }
      else {
        this.success(user, info);
      }
    });
  }
}

const TOKEN_STRATEGY = {
  config: { authenticator: 'Token', fields: ['token'] },
  methods: {
    create: 'strategyNoop',
    delete: 'strategyNoop',
    exists: 'strategyExists',
    update: 'strategyNoop',
    validate: 'strategyValidate',
    verify: 'strategyVerify',
  },
};

class ClusterTestPlugin {
  constructor () {
    this.events = [];
    this.localNotifications = [];
    this.listening = false;
    this.authenticators = { Token: TokenAuthenticator };
    this.hooks = {};
    this.api = {};
  }

  async init (config, context) {
    this.context = context;
    this.hooks = {
      // cluster:event asks are answered once every plugin is initialized
      'kuzzle:state:ready': () => this.listen(),
    };
    this.api = {
      clustertest: {
        actions: {
          addStrategy: { handler: async () => this.addStrategy() },
          broadcast: { handler: async request => this.broadcast(request) },
          events: { handler: async () => this.events },
          removeStrategy: { handler: async () => this.removeStrategy() },
          subscribeLocal: { handler: async request => this.subscribeLocal(request) },
          localNotifications: { handler: async () => this.localNotifications },
        },
      },
    };
  }

  async listen () {
    if (!this.listening) {
      this.listening = true;
      await this.context.accessors.cluster.on('clustertest:event', payload => this.events.push(payload));
    }
  }

  /** a plugin subscription that must not receive notifications from other nodes */
  async subscribeLocal (request) {
    const { index, collection, filters } = request.input.body;
    this.localNotifications = this.localNotifications || [];
    const roomId = await this.context.accessors.sdk.realtime.subscribe(
      index, collection, filters,
      notification => this.localNotifications.push(notification.result._source || notification.result),
      { propagate: false });
    return { roomId };
  }

  async broadcast (request) {
    await this.context.accessors.cluster.broadcast('clustertest:event', request.input.body);
    return { broadcast: true };
  }

  async addStrategy () {
    await this.context.accessors.strategies.add('token', TOKEN_STRATEGY);
    return { added: 'token' };
  }

  async removeStrategy () {
    await this.context.accessors.strategies.remove('token');
    return { removed: 'token' };
  }

  // The strategy's methods run on whichever node handles the login: the
  // accepted token travels in the login request, as a real token would.
  async strategyVerify (request, token) {
    if (typeof token === 'string' && token.startsWith('open-sesame:')) {
      return { kuid: token.slice('open-sesame:'.length) };
    }
    return { kuid: null, message: 'wrong token' };
  }

  async strategyExists () {
    return false;
  }

  async strategyValidate () {
    return true;
  }

  async strategyNoop () {
    return {};
  }
}

module.exports = ClusterTestPlugin;
