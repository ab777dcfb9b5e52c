using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.Hosting.Internal;

namespace StemeDb.Sync.Tests.Support;

/// <summary>
/// A peer name resolver whose address and SRV records the test sets and changes; a name without records fails as the
/// system resolver does (<see cref="SocketException"/> for addresses, <see cref="DnsException"/> for SRV records).
/// </summary>
internal sealed class FakePeerNameResolver : IPeerNameResolver
{
    private readonly Dictionary<string, IPAddress[]> _records = [];
    private readonly Dictionary<string, SrvRecord[]> _services = [];
    private int _lookups;
    private int _serviceLookups;

    public int Lookups => Volatile.Read(ref _lookups);

    public int ServiceLookups => Volatile.Read(ref _serviceLookups);

    public void SetService(string name, params SrvRecord[] records)
    {
        lock (_records)
        {
            _services[name] = records;
        }
    }

    public Task<SrvRecord[]> ResolveServiceAsync(string name, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _serviceLookups);
        lock (_records)
        {
            return _services.TryGetValue(name, out SrvRecord[]? found)
                ? Task.FromResult(found)
                : Task.FromException<SrvRecord[]>(new DnsException($"The name '{name}' does not exist (NXDOMAIN)."));
        }
    }

    public void Set(string host, params string[] addresses)
    {
        lock (_records)
        {
            _records[host] = [.. addresses.Select(IPAddress.Parse)];
        }
    }

    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _lookups);
        lock (_records)
        {
            return _records.TryGetValue(host, out IPAddress[]? found)
                ? Task.FromResult(found)
                : Task.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound));
        }
    }
}
