using System;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using StemeDb.Sync.AspNetCore.Internal;
using StemeDb.Sync.AspNetCore.Tests.Support;
using StemeDb.Sync.Hosting.Internal;
using StemeDb.Sync.Tests.Support;

namespace StemeDb.Sync.AspNetCore.Tests;

/// <summary>
/// The client certificate check of <c>UseStemeDbSyncTls()</c>: it decides as <see cref="TlsFiles.IsAllowedClient"/> does,
/// and logs a refusal with its reason once per source and reason, then at most once a minute with the count of those
/// not logged.
/// </summary>
[TestFixture]
public sealed class HandshakeRefusalsTests
{
    private TestPki _pki = null!;
    private TestAuthority _ca = null!;
    private CapturingLoggerProvider _logs = null!;
    private FakeTimeProvider _time = null!;

    [SetUp]
    public void SetUp()
    {
        _pki = new TestPki();
        _ca = new TestAuthority("stemedb test ca");
        _logs = new CapturingLoggerProvider();
        _time = new FakeTimeProvider();
    }

    [TearDown]
    public void TearDown()
    {
        _ca.Dispose();
        _pki.Dispose();
        _logs.Dispose();
    }

    [Test]
    public void Check_RefusalsOfOneSourceAndReason_LoggedOncePerMinuteWithTheCountNotLogged()
    {
        RemoteCertificateValidationCallback check = Check(new IPEndPoint(IPAddress.Parse("10.0.0.9"), 40000));

        bool first = check(this, null, null, SslPolicyErrors.RemoteCertificateNotAvailable);
        bool second = check(this, null, null, SslPolicyErrors.RemoteCertificateNotAvailable);
        bool third = check(this, null, null, SslPolicyErrors.RemoteCertificateNotAvailable);
        string[] withinTheMinute = Messages();
        _time.Advance(TimeSpan.FromMinutes(1));
        bool later = check(this, null, null, SslPolicyErrors.RemoteCertificateNotAvailable);

        Assert.Multiple(() =>
        {
            Assert.That(new[] { first, second, third, later }, Is.All.False, "no certificate, no connection");
            Assert.That(withinTheMinute, Is.EqualTo(new[]
            {
                "TLS connection from 10.0.0.9 refused: it sent no client certificate (0 more such refusals of this source since the last report)",
            }));
            Assert.That(Messages(), Has.Length.EqualTo(2));
            Assert.That(Messages()[1], Is.EqualTo("TLS connection from 10.0.0.9 refused: it sent no client certificate (2 more such refusals of this source since the last report)"));
            Assert.That(_logs.Lines, Has.All.Matches<(string Category, LogLevel Level, EventId Event, string Message)>(l => l.Level == LogLevel.Warning && l.Event.Id == 12 && l.Event.Name == "ClientCertificateRefused"));
        });
    }

    [Test]
    public void Check_EachReason_IsDecidedAsIsAllowedClientAndLoggedByName()
    {
        RemoteCertificateValidationCallback check = Check(new IPEndPoint(IPAddress.Loopback, 40000));
        using X509Certificate2 allowed = TestPki.Create(_ca, "node-b");
        using X509Certificate2 serverOnly = TestPki.Create(_ca, "node-b", usages: [TestPki.ServerAuth]);
        using X509Certificate2 outsider = TestPki.Create(_ca, "outsider");
        using var otherCa = new TestAuthority("another ca");
        using X509Certificate2 stranger = TestPki.Create(otherCa, "node-b");

        Assert.Multiple(() =>
        {
            Assert.That(check(this, allowed, null, SslPolicyErrors.None), Is.True);
            Assert.That(check(this, serverOnly, null, SslPolicyErrors.None), Is.False);
            Assert.That(check(this, outsider, null, SslPolicyErrors.None), Is.False);
            Assert.That(check(this, stranger, null, SslPolicyErrors.RemoteCertificateChainErrors), Is.False);
            Assert.That(Messages(), Has.Length.EqualTo(3));
            Assert.That(Messages()[0], Is.EqualTo("TLS connection from 127.0.0.1 refused: its certificate (CN=node-b) does not list the clientAuth extended key usage (0 more such refusals of this source since the last report)"));
            Assert.That(Messages()[1], Is.EqualTo("TLS connection from 127.0.0.1 refused: its certificate (CN=outsider) names no allowed peer (0 more such refusals of this source since the last report)"));
            Assert.That(Messages()[2], Does.StartWith("TLS connection from 127.0.0.1 refused: its certificate (CN=node-b) does not chain to the client CA ("));
        });
    }

    private RemoteCertificateValidationCallback Check(EndPoint remote)
    {
        string caFile = _pki.Write("ca.pem", _ca.Certificate.ExportCertificatePem());
        var refusals = new HandshakeRefusals(_logs.CreateLogger("test"), _time);
        return refusals.Check(remote, TlsFiles.Ca(caFile), ["node-a", "node-b"]);
    }

    private string[] Messages() => _logs.Messages("test");
}
