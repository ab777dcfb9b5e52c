using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using StemeDb.Sync.Grpc.Tests.Support;

namespace StemeDb.Sync.Grpc.Tests;

/// <summary>A shared bearer token over Kestrel: peers send it with <see cref="GrpcSyncPeerOptions.Headers"/>, and <see cref="BearerTokenAuthorizer"/> admits only them.</summary>
[TestFixture]
public sealed class BearerTokenTests
{
    private const string Token = "correct horse battery staple";

    [Test]
    [CancelAfter(60_000)]
    public async Task Calls_WithTheToken_AreServedOthersAreUnauthenticatedAndStoreNothing(CancellationToken cancellationToken)
    {
        await using SyncNode node = await TestNodes.StartAsync();
        await using KestrelHost host = await KestrelHost.StartAsync(node.Handler, new KestrelHostOptions
        {
            ServiceFactory = services => new SyncServiceImpl(new SyncServer(services.GetRequiredService<ISyncRequestHandler>(), authorizer: new BearerTokenAuthorizer(Token))),
        });
        var trusted = new GrpcSyncPeerOptions();
        trusted.Headers[BearerTokenAuthorizer.HeaderName] = BearerTokenAuthorizer.HeaderValue(Token);
        var wrong = new GrpcSyncPeerOptions();
        wrong.Headers[BearerTokenAuthorizer.HeaderName] = BearerTokenAuthorizer.HeaderValue("guess");
        using GrpcSyncPeer withToken = host.CreatePeer(trusted);
        using GrpcSyncPeer withWrongToken = host.CreatePeer(wrong);
        using GrpcSyncPeer anonymous = host.CreatePeer();

        GossipResult accepted = await withToken.GossipAsync(Records.Create("with token"), cancellationToken);
        var missing = Assert.ThrowsAsync<SyncPeerException>(async () => await anonymous.GossipAsync(Records.Create("anonymous"), cancellationToken));
        var refused = Assert.ThrowsAsync<SyncPeerException>(async () => await withWrongToken.GossipAsync(Records.Create("wrong"), cancellationToken));

        Assert.That(accepted.Accepted, Is.True, accepted.Error);
        Assert.That(missing!.Code, Is.EqualTo(SyncStatusCode.Unauthenticated));
        Assert.That(refused!.Code, Is.EqualTo(SyncStatusCode.Unauthenticated));
        Assert.That(node.Count, Is.EqualTo(1));
    }

    [Test]
    public void Options_InvalidHeaderName_ThrowsWhenThePeerIsCreated()
    {
        var options = new GrpcSyncPeerOptions();
        options.Headers["bad header"] = "x";

        Assert.Throws<System.ArgumentException>(() => GrpcSyncPeer.Create(new System.Uri("http://127.0.0.1:1"), options));
    }

    [Test]
    public void Authorizer_TokenShorterThan16Bytes_ThrowsNamingTheMinimum()
    {
        var ex = Assert.Throws<System.ArgumentException>(() => _ = new BearerTokenAuthorizer("fifteen-bytes!!"));

        Assert.That(ex!.Message, Does.Contain("15 bytes").And.Contain("at least 16 bytes"));
        Assert.That(ex.ParamName, Is.EqualTo("token"));
    }

    [Test]
    public void Authorizer_Token16BytesOfUtf8_IsAccepted()
    {
        // Eight two-byte characters: 8 characters, 16 bytes; the minimum counts bytes.
        Assert.DoesNotThrow(() => _ = new BearerTokenAuthorizer("éééééééé"));
        Assert.Throws<System.ArgumentException>(() => _ = new BearerTokenAuthorizer("ééééééé"));
    }

    [Test]
    public void Authorizer_EmptyOrPaddedToken_Throws()
    {
        Assert.Throws<System.ArgumentException>(() => _ = new BearerTokenAuthorizer(""));
        Assert.Throws<System.ArgumentException>(() => _ = new BearerTokenAuthorizer(" padded "));
    }
}
