// Preloaded into the Aztec node (node --import): its JSON-RPC server calls listen() without a host,
// which binds every interface. Tusk's servers listen on 127.0.0.1 only, so a listen() that names no
// host gets 127.0.0.1. Listeners that name a host keep it.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  const [first] = args;
  if (first !== null && typeof first === 'object' && !('fd' in first) && !('path' in first)) {
    if (first.host === undefined) args[0] = { ...first, host: '127.0.0.1' };
  } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    if (typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};
