using System;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using StemeDb.Sync.Hosting.Internal;

namespace StemeDb.Sync.Hosting.Tests;

/// <summary>The SRV client against tiny DNS servers on 127.0.0.1 that answer what each test scripts.</summary>
[TestFixture]
public sealed class DnsSrvClientTests
{
    private const string Name = "_grpc._tcp.stemedb.test";

    [Test]
    [CancelAfter(30_000)]
    public async Task QueryAsync_AnswerOverUdp_ReturnsTheRecords(CancellationToken cancellationToken)
    {
        await using var server = TestDnsServer.Start((id, name) => Answer(id, name, ("a.stemedb.test", 5000), ("b.stemedb.test", 5001)));
        DnsSrvClient client = Client(server.EndPoint);

        SrvRecord[] records = await client.QueryAsync(Name, cancellationToken);

        Assert.That(records, Is.EqualTo(new[] { new SrvRecord(0, 10, 5000, "a.stemedb.test"), new SrvRecord(0, 10, 5001, "b.stemedb.test") }));
        Assert.That(server.Questions, Is.EqualTo(new[] { "udp " + Name }));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task QueryAsync_TruncatedOverUdp_AsksAgainOverTcp(CancellationToken cancellationToken)
    {
        await using var server = TestDnsServer.Start(
            (id, name) => DnsPacket.Response(id, 1, 0, truncated: true).SrvQuestion(name).ToArray(),
            tcp: (id, name) => Answer(id, name, ("a.stemedb.test", 5000)));
        DnsSrvClient client = Client(server.EndPoint);

        SrvRecord[] records = await client.QueryAsync(Name, cancellationToken);

        Assert.That(records, Is.EqualTo(new[] { new SrvRecord(0, 10, 5000, "a.stemedb.test") }));
        Assert.That(server.Questions, Is.EqualTo(new[] { "udp " + Name, "tcp " + Name }));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task QueryAsync_FirstServerAnswersWithAWrongId_AsksTheNextServer(CancellationToken cancellationToken)
    {
        await using var wrong = TestDnsServer.Start((id, name) => Answer((ushort)(id + 1), name, ("evil.test", 1)));
        await using var right = TestDnsServer.Start((id, name) => Answer(id, name, ("a.stemedb.test", 5000)));
        var client = new DnsSrvClient(new ResolverConfiguration([wrong.EndPoint, right.EndPoint], [], 1), TimeSpan.FromSeconds(30), TimeProvider.System);

        SrvRecord[] records = await client.QueryAsync(Name, cancellationToken);

        Assert.That(records, Is.EqualTo(new[] { new SrvRecord(0, 10, 5000, "a.stemedb.test") }));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task QueryAsync_MalformedAnswer_ThrowsNamingTheServerAndTheProblem(CancellationToken cancellationToken)
    {
        await using var server = TestDnsServer.Start((id, name) => Answer(id, name, ("a.stemedb.test", 5000))[..45]); // cut inside the first record
        DnsSrvClient client = Client(server.EndPoint);

        DnsException? thrown = Assert.ThrowsAsync<DnsException>(() => client.QueryAsync(Name, cancellationToken));

        Assert.That(thrown!.Message, Does.Contain(server.EndPoint.ToString()).And.Contain(Name).And.Contain("inside the fixed fields"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task QueryAsync_ServerFailure_Throws(CancellationToken cancellationToken)
    {
        await using var server = TestDnsServer.Start((id, name) => DnsPacket.Response(id, 1, 0, responseCode: 2).SrvQuestion(name).ToArray());
        DnsSrvClient client = Client(server.EndPoint);

        Assert.That(async () => await client.QueryAsync(Name, cancellationToken), Throws.TypeOf<DnsException>().With.Message.Contains("response code 2"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task QueryAsync_NameDoesNotExist_ThrowsNxDomain(CancellationToken cancellationToken)
    {
        await using var server = TestDnsServer.Start((id, name) => DnsPacket.Response(id, 1, 0, responseCode: 3).SrvQuestion(name).ToArray());
        DnsSrvClient client = Client(server.EndPoint);

        Assert.That(async () => await client.QueryAsync(Name, cancellationToken), Throws.TypeOf<DnsException>().With.Message.Contains("NXDOMAIN"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task QueryAsync_NameWithoutRecords_ReturnsNone(CancellationToken cancellationToken)
    {
        await using var server = TestDnsServer.Start((id, name) => Answer(id, name));
        DnsSrvClient client = Client(server.EndPoint);

        Assert.That(await client.QueryAsync(Name, cancellationToken), Is.Empty);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task QueryAsync_ShortNameAndSearchDomains_TriesTheSearchedNamesFirst(CancellationToken cancellationToken)
    {
        await using var server = TestDnsServer.Start((id, name) => name == "_grpc._tcp.stemedb.default.svc.cluster.local"
            ? Answer(id, name, ("a.stemedb.test", 5000))
            : DnsPacket.Response(id, 1, 0, responseCode: 3).SrvQuestion(name).ToArray());
        var client = new DnsSrvClient(new ResolverConfiguration([server.EndPoint], ["other.svc.cluster.local", "default.svc.cluster.local"], 5), TimeSpan.FromSeconds(30), TimeProvider.System);

        SrvRecord[] records = await client.QueryAsync("_grpc._tcp.stemedb", cancellationToken);

        Assert.That(records, Has.Length.EqualTo(1));
        Assert.That(server.Questions, Is.EqualTo(new[] { "udp _grpc._tcp.stemedb.other.svc.cluster.local", "udp _grpc._tcp.stemedb.default.svc.cluster.local" }));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task QueryAsync_ServerSilent_ThrowsAfterTheTimeout(CancellationToken cancellationToken)
    {
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = TestDnsServer.Start((_, _) =>
        {
            asked.TrySetResult();
            return null; // no answer
        });
        var time = new FakeTimeProvider();
        var client = new DnsSrvClient(new ResolverConfiguration([server.EndPoint], [], 1), TimeSpan.FromSeconds(5), time);

        Task<SrvRecord[]> query = client.QueryAsync(Name, cancellationToken);
        await asked.Task.WaitAsync(cancellationToken);
        time.Advance(TimeSpan.FromSeconds(5));

        Assert.That(async () => await query, Throws.TypeOf<DnsException>().With.Message.Contains("no answer within 5 s"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task QueryAsync_Cancelled_ThrowsOperationCanceled(CancellationToken cancellationToken)
    {
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = TestDnsServer.Start((_, _) =>
        {
            asked.TrySetResult();
            return null;
        });
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        DnsSrvClient client = Client(server.EndPoint);

        Task<SrvRecord[]> query = client.QueryAsync(Name, cancel.Token);
        await asked.Task.WaitAsync(cancellationToken);
        await cancel.CancelAsync();

        Assert.That(async () => await query, Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public void Parse_ResolvConf_ReadsNameserversSearchAndNdots()
    {
        const string Text = "# generated\nnameserver 10.96.0.10\nnameserver fe80::1%1 ; link-local\nnameserver not-an-ip\ndomain old.example\nsearch default.svc.cluster.local svc.cluster.local cluster.local.\noptions ndots:5 timeout:2\nsortlist 10.0.0.0\n";

        ResolverConfiguration configuration = ResolverConfiguration.Parse(Text);

        Assert.That(configuration.Nameservers, Has.Count.EqualTo(2));
        Assert.That(configuration.Nameservers[0], Is.EqualTo(new IPEndPoint(IPAddress.Parse("10.96.0.10"), 53)));
        Assert.That(configuration.Nameservers[1].Address.AddressFamily, Is.EqualTo(AddressFamily.InterNetworkV6));
        Assert.That(configuration.Search, Is.EqualTo(new[] { "default.svc.cluster.local", "svc.cluster.local", "cluster.local" }));
        Assert.That(configuration.Ndots, Is.EqualTo(5));
    }

    [Test]
    public void Read_NoNameserver_ThrowsNamingTheFile()
    {
        string path = System.IO.Path.GetTempFileName();
        try
        {
            System.IO.File.WriteAllText(path, "search example\n");

            Assert.That(() => ResolverConfiguration.Read(path), Throws.TypeOf<DnsException>().With.Message.Contains(path).And.Message.Contains("nameserver"));
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }

    [TestCase("a.b.c.", 1, "a.b.c")]
    [TestCase("a.b.c", 1, "a.b.c|a.b.c.s1|a.b.c.s2")]
    [TestCase("a.b.c", 5, "a.b.c.s1|a.b.c.s2|a.b.c")]
    public void Candidates_SearchRules_AreTheSystemResolversOrder(string name, int ndots, string expected)
    {
        var configuration = new ResolverConfiguration([new IPEndPoint(IPAddress.Loopback, 53)], ["s1", "s2"], ndots);

        Assert.That(string.Join('|', configuration.Candidates(name)), Is.EqualTo(expected));
    }

    private static DnsSrvClient Client(IPEndPoint server) =>
        new(new ResolverConfiguration([server], [], 1), TimeSpan.FromSeconds(30), TimeProvider.System);

    private static byte[] Answer(ushort id, string name, params (string Target, ushort Port)[] targets)
    {
        DnsPacket packet = DnsPacket.Response(id, 1, (ushort)targets.Length).SrvQuestion(name);
        foreach ((string target, ushort port) in targets)
        {
            packet.Srv(12, 0, 10, port, target);
        }

        return packet.ToArray();
    }

    /// <summary>
    /// A DNS server on 127.0.0.1, UDP and TCP on one port, that reads the ID and question name of each query and sends
    /// what the test's function returns (nothing for <see langword="null"/>).
    /// </summary>
    private sealed class TestDnsServer : IAsyncDisposable
    {
        private readonly UdpClient _udp;
        private readonly TcpListener _tcp;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _serving;

        private TestDnsServer(UdpClient udp, TcpListener tcp, Func<ushort, string, byte[]?> answer, Func<ushort, string, byte[]?>? tcpAnswer)
        {
            _udp = udp;
            _tcp = tcp;
            EndPoint = (IPEndPoint)udp.Client.LocalEndPoint!;
            _serving = Task.WhenAll(ServeUdpAsync(answer), ServeTcpAsync(tcpAnswer ?? answer));
        }

        public IPEndPoint EndPoint { get; }

        /// <summary>The questions asked, as "udp NAME" or "tcp NAME", in order.</summary>
        public ConcurrentQueue<string> Questions { get; } = new();

        public static TestDnsServer Start(Func<ushort, string, byte[]?> answer, Func<ushort, string, byte[]?>? tcp = null)
        {
            for (int attempt = 0; ; attempt++)
            {
                var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
                var listener = new TcpListener(IPAddress.Loopback, ((IPEndPoint)udp.Client.LocalEndPoint!).Port);
                try
                {
                    listener.Start();
                    return new TestDnsServer(udp, listener, answer, tcp);
                }
                catch (SocketException) when (attempt < 20)
                {
                    udp.Dispose(); // the TCP port is taken: another port
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _udp.Dispose();
            _tcp.Stop();
            try
            {
                await _serving;
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }

            _stop.Dispose();
        }

        private static (ushort Id, string Name) Read(byte[] query)
        {
            ushort id = BinaryPrimitives.ReadUInt16BigEndian(query);
            var name = new StringBuilder();
            for (int offset = 12; query[offset] != 0; offset += 1 + query[offset])
            {
                name.Append(name.Length > 0 ? "." : string.Empty).Append(Encoding.ASCII.GetString(query, offset + 1, query[offset]));
            }

            return (id, name.ToString());
        }

        private async Task ServeUdpAsync(Func<ushort, string, byte[]?> answer)
        {
            while (!_stop.IsCancellationRequested)
            {
                UdpReceiveResult received = await _udp.ReceiveAsync(_stop.Token);
                (ushort id, string name) = Read(received.Buffer);
                Questions.Enqueue("udp " + name);
                if (answer(id, name) is { } response)
                {
                    await _udp.SendAsync(response, received.RemoteEndPoint, _stop.Token);
                }
            }
        }

        private async Task ServeTcpAsync(Func<ushort, string, byte[]?> answer)
        {
            while (!_stop.IsCancellationRequested)
            {
                using TcpClient connection = await _tcp.AcceptTcpClientAsync(_stop.Token);
                NetworkStream stream = connection.GetStream();
                var prefix = new byte[2];
                await stream.ReadExactlyAsync(prefix, _stop.Token);
                var query = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
                await stream.ReadExactlyAsync(query, _stop.Token);
                (ushort id, string name) = Read(query);
                Questions.Enqueue("tcp " + name);
                if (answer(id, name) is { } response)
                {
                    var framed = new byte[2 + response.Length];
                    BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)response.Length);
                    response.CopyTo(framed, 2);
                    await stream.WriteAsync(framed, _stop.Token);
                }
            }
        }
    }
}
