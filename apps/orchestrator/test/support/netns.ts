// Network namespaces for the fleet test's "hosts": a bridge in the test's own namespace carries the services'
// address (SeaweedFS listens there, the Temporal dev server on every interface), and each host gets a namespace
// of its own, joined to the bridge by a veth pair. A host then reaches the two services over the bridge and
// nothing else of this machine: not the test's loopback, not another host's. Needs root and iproute2;
// `tryCreate` returns null where the machine does not allow it, and the test runs its hosts in its own
// namespace. Test support only.
import { execFileSync } from 'child_process';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** One host's namespace: its address on the bridge, and how to run a command inside it. */
export interface NetnsHost {
  name: string;
  ip: string;
  /** The command and arguments that run `cmd args` inside this namespace (`ip netns exec` execs in place: same pid). */
  wrap(cmd: string, args: string[]): [string, string[]];
}

export class FleetNetwork {
  private readonly hosts = new Map<string, NetnsHost>();
  private readonly tag: string;
  private readonly subnet: string;

  private constructor() {
    const id = process.pid % 100000;
    this.tag = String(id);
    this.subnet = `10.${200 + (id % 50)}.${Math.floor(id / 50) % 250}`;
    ip('link', 'add', 'name', this.bridge, 'type', 'bridge');
    try {
      ip('addr', 'add', `${this.serviceIp}/24`, 'dev', this.bridge);
      ip('link', 'set', this.bridge, 'up');
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  /** A bridge and namespaces, or null without the rights (not root) or the tools (no iproute2). */
  static tryCreate(): FleetNetwork | null {
    if (process.getuid?.() !== 0) return null;
    try {
      return new FleetNetwork();
    } catch {
      return null;
    }
  }

  private get bridge(): string {
    return `dndbr${this.tag}`;
  }

  /** The address the services listen on (the bridge's, in the test's namespace). */
  get serviceIp(): string {
    return `${this.subnet}.1`;
  }

  /** The namespace of host `name`, made on first use. */
  host(name: string): NetnsHost {
    const known = this.hosts.get(name);
    if (known) return known;
    const i = this.hosts.size + 2;
    const ns = `dnd${this.tag}h${i}`;
    const [outer, inner] = [`dv${this.tag}x${i}`, `dv${this.tag}y${i}`];
    const hostIp = `${this.subnet}.${i}`;
    ip('netns', 'add', ns);
    ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
    ip('link', 'set', inner, 'netns', ns);
    ip('link', 'set', outer, 'master', this.bridge);
    ip('link', 'set', outer, 'up');
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${hostIp}/24`, 'dev', inner);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', inner, 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
    const h: NetnsHost = { name: ns, ip: hostIp, wrap: (cmd, args) => ['ip', ['netns', 'exec', ns, cmd, ...args]] };
    this.hosts.set(name, h);
    return h;
  }

  /** Removes the namespaces (their veth pairs go with them) and the bridge. */
  destroy(): void {
    for (const h of this.hosts.values()) try { ip('netns', 'del', h.name); } catch { /* gone */ }
    this.hosts.clear();
    try { ip('link', 'del', this.bridge); } catch { /* gone */ }
  }
}
