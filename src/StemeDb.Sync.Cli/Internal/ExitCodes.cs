namespace StemeDb.Sync.Cli.Internal;

/// <summary>The documented exit codes of <c>stemedb-sync</c> (see docs/CLI.md).</summary>
internal static class ExitCodes
{
    /// <summary>The command did what it was asked.</summary>
    public const int Success = 0;

    /// <summary>The command ran but the outcome is negative: roots differ, an assertion was rejected, the demo did not converge.</summary>
    public const int Failure = 1;

    /// <summary>The command line is invalid (unknown command or option, missing or malformed value).</summary>
    public const int Usage = 2;

    /// <summary>A node could not be reached, or a call to it failed or timed out.</summary>
    public const int Unavailable = 3;

    /// <summary>The input data is invalid: malformed JSON or hex, an archive the validator rejects, a bad hash.</summary>
    public const int InvalidData = 4;

    /// <summary>A local resource failed: the data directory cannot be opened, a port cannot be bound.</summary>
    public const int IOError = 5;

    /// <summary>An unexpected internal error (a bug): the exception is printed on standard error (EX_SOFTWARE).</summary>
    public const int InternalError = 70;

    /// <summary>Interrupted by Ctrl-C (SIGINT) or SIGTERM before the command finished (128 + SIGINT).</summary>
    public const int Interrupted = 130;
}
