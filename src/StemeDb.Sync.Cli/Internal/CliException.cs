using System;

namespace StemeDb.Sync.Cli.Internal;

/// <summary>A command failed for a reason the user should read; carries the exit code.</summary>
internal sealed class CliException : Exception
{
    public CliException(int exitCode, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ExitCode = exitCode;
    }

    public int ExitCode { get; }
}
