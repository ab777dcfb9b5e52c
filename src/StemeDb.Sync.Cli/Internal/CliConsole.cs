using System;
using System.IO;

namespace StemeDb.Sync.Cli.Internal;

/// <summary>The standard streams a command uses; tests pass their own.</summary>
internal sealed class CliConsole
{
    private readonly Func<Stream> _openInput;
    private readonly Func<Stream> _openOutput;

    /// <param name="output">Standard output, as text.</param>
    /// <param name="error">Standard error.</param>
    /// <param name="input">Standard input, as text.</param>
    /// <param name="openInput">Standard input as bytes (for <c>import</c>); an empty stream when not given.</param>
    /// <param name="openOutput">Standard output as bytes (for <c>export</c>); nothing is kept when not given.</param>
    public CliConsole(TextWriter output, TextWriter error, TextReader input, Func<Stream>? openInput = null, Func<Stream>? openOutput = null)
    {
        Out = output;
        Error = error;
        In = input;
        _openInput = openInput ?? (() => new MemoryStream([], writable: false));
        _openOutput = openOutput ?? (() => Stream.Null);
    }

    public TextWriter Out { get; }

    public TextWriter Error { get; }

    public TextReader In { get; }

    /// <summary>Standard input as bytes.</summary>
    public Stream OpenInput() => _openInput();

    /// <summary>Standard output as bytes; nothing else may be written to <see cref="Out"/> while it is used.</summary>
    public Stream OpenOutput() => _openOutput();
}
