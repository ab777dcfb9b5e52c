using System.IO;

namespace StemeDb.Sync.Cli.Internal;

/// <summary>The standard streams a command uses; tests pass their own.</summary>
internal sealed class CliConsole
{
    public CliConsole(TextWriter output, TextWriter error, TextReader input)
    {
        Out = output;
        Error = error;
        In = input;
    }

    public TextWriter Out { get; }

    public TextWriter Error { get; }

    public TextReader In { get; }
}
