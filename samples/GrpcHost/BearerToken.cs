using System;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace StemeDb.Sync.Samples.GrpcHost;

/// <summary>The shared token callers must present.</summary>
internal sealed class BearerTokenOptions : AuthenticationSchemeOptions
{
    public string? Token { get; set; }
}

/// <summary>
/// A minimal ASP.NET Core authentication scheme: a caller that sends <c>authorization: Bearer &lt;token&gt;</c> with
/// the configured token is authenticated. A real host would use JWT bearer, client certificates or its own scheme;
/// the gRPC endpoint's <c>RequireAuthorization()</c> is the same for all of them.
/// </summary>
internal sealed class BearerTokenHandler(IOptionsMonitor<BearerTokenOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<BearerTokenOptions>(options, logger, encoder)
{
    public const string SchemeName = "SampleBearer";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (Options.Token is not { } expected || header is null || !header.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        byte[] presented = Encoding.UTF8.GetBytes(header["Bearer ".Length..]);
        if (!CryptographicOperations.FixedTimeEquals(presented, Encoding.UTF8.GetBytes(expected)))
        {
            return Task.FromResult(AuthenticateResult.Fail("wrong token"));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "peer")], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}
