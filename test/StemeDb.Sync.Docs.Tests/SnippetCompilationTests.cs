using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace StemeDb.Sync.Docs.Tests;

/// <summary>
/// Every <c>```csharp</c> block of README.md, docs/*.md and the package and sample READMEs compiles against the
/// packages. A block is the body of an async method: its own <c>using</c> lines are kept as written, the usual
/// namespaces of a host (the BCL's, ASP.NET Core's and the packages') are added, and a block that continues an
/// earlier one names what it assumes in an HTML comment just above it, invisible on the rendered page:
/// <c>&lt;!-- snippet-assumes: IAssertionStore store, ISyncPeer peer --&gt;</c> (parameters of the method).
/// </summary>
[TestFixture]
public sealed partial class SnippetCompilationTests
{
    private static readonly string[] HostUsings =
    [
        "System", "System.Collections.Generic", "System.Linq", "System.Threading", "System.Threading.Tasks",
        "Microsoft.AspNetCore.Builder", "Microsoft.Extensions.Configuration", "Microsoft.Extensions.DependencyInjection",
        "Microsoft.Extensions.Hosting", "Microsoft.Extensions.Logging", "Grpc.HealthCheck",
        "StemeDb.Sync", "StemeDb.Sync.Grpc", "StemeDb.Sync.Hosting", "StemeDb.Sync.Sqlite", "StemeDb.Sync.Testing",
    ];

    private static readonly Lazy<MetadataReference[]> References = new(LoadReferences);

    public static IEnumerable<TestCaseData> Snippets()
    {
        string root = RepositoryRoot();
        IEnumerable<string> files = new[] { Path.Combine(root, "README.md") }
            .Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md"))
            .Concat(Directory.GetDirectories(Path.Combine(root, "src")).Select(d => Path.Combine(d, "README.md")))
            .Concat(Directory.GetDirectories(Path.Combine(root, "samples")).Select(d => Path.Combine(d, "README.md")))
            .Where(File.Exists)
            .OrderBy(f => f, StringComparer.Ordinal);
        foreach (string file in files)
        {
            string relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            foreach (Snippet snippet in Extract(File.ReadAllLines(file)))
            {
                yield return new TestCaseData(relative, snippet).SetName($"Snippet compiles: {relative} line {snippet.Line}");
            }
        }
    }

    [Test]
    public void Snippets_AreFound()
    {
        // A guard against a silent zero: the README alone has two blocks.
        Assert.That(Snippets().Count(), Is.GreaterThanOrEqualTo(8));
    }

    [TestCaseSource(nameof(Snippets))]
    public void Snippet_Compiles(string file, Snippet snippet)
    {
        string source = Wrap(snippet);
        CSharpCompilation compilation = CSharpCompilation.Create(
            "Snippet",
            [CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest))],
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

        Diagnostic[] errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToArray();

        Assert.That(errors, Is.Empty, () => $"{file} line {snippet.Line} does not compile:\n"
            + string.Join("\n", errors.Select(e => e.ToString())) + "\n--- compiled as ---\n" + source);
    }

    /// <summary>One code block: where it starts, its lines, and what it assumes.</summary>
    public sealed record Snippet(int Line, string Code, string Assumes)
    {
        public override string ToString() => $"line {Line}";
    }

    private static IEnumerable<Snippet> Extract(string[] lines)
    {
        for (int i = 0; i < lines.Length; i++)
        {
            if (!Regex.IsMatch(lines[i], @"^\s*```(csharp|cs|c#)\s*$"))
            {
                continue;
            }

            string assumes = string.Empty;
            for (int back = i - 1; back >= 0 && back >= i - 3; back--)
            {
                Match match = AssumesComment().Match(lines[back]);
                if (match.Success)
                {
                    assumes = match.Groups[1].Value.Trim();
                    break;
                }
            }

            int start = i + 1;
            int end = start;
            while (end < lines.Length && !Regex.IsMatch(lines[end], @"^\s*```\s*$"))
            {
                end++;
            }

            int indent = lines[i].Length - lines[i].TrimStart().Length;
            string code = string.Join("\n", lines[start..end].Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));
            yield return new Snippet(start, code, assumes);
            i = end;
        }
    }

    private static string Wrap(Snippet snippet)
    {
        string[] lines = snippet.Code.Split('\n');
        IEnumerable<string> ownUsings = lines.Where(l => l.StartsWith("using ", StringComparison.Ordinal) && l.TrimEnd().EndsWith(';') && !l.Contains('('));
        IEnumerable<string> body = lines.Where(l => !ownUsings.Contains(l));
        IEnumerable<string> usings = HostUsings.Select(u => $"using {u};").Concat(ownUsings).Distinct();
        if (body.Any(l => TypeDeclaration().IsMatch(l)))
        {
            // A block that declares types (a test fixture deriving from a kit) compiles as a file of its own.
            return string.Join("\n", usings.Append("using System.IO;").Append("using NUnit.Framework;")) + "\n\n#line 1\n" + string.Join("\n", body) + "\n";
        }

        return string.Join("\n", usings) + "\n\n#nullable disable warnings\npublic static class SnippetHost\n{\n"
            + $"    public static async System.Threading.Tasks.Task RunAsync({snippet.Assumes})\n    {{\n"
            + "#line 1\n" + string.Join("\n", body) + "\n        await System.Threading.Tasks.Task.CompletedTask;\n    }\n}\n";
    }

    private static MetadataReference[] LoadReferences()
    {
        // Load the packages (and what they use) into the test process, then reference every assembly the runtime
        // can see: the shared frameworks (trusted platform assemblies) and this test's output folder.
        _ = new[]
        {
            typeof(SyncNode), typeof(Grpc.GrpcSyncPeer), typeof(Hosting.StemeDbSyncOptions), typeof(Microsoft.AspNetCore.Builder.StemeDbSyncEndpointRouteBuilderExtensions), typeof(Sqlite.SqliteAssertionStore),
            typeof(Testing.InMemoryNetwork), typeof(Microsoft.AspNetCore.Builder.WebApplication), typeof(global::Grpc.HealthCheck.HealthServiceImpl),
        };
        string trusted = (string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!;
        return trusted.Split(Path.PathSeparator)
            .Concat(Directory.GetFiles(AppContext.BaseDirectory, "*.dll"))
            .Where(p => !p.EndsWith("SnippetCompilation.dll", StringComparison.Ordinal))
            .GroupBy(Path.GetFileName, StringComparer.OrdinalIgnoreCase)
            .Select(g => g.First())
            .Where(IsManagedAssembly)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToArray();
    }

    private static bool IsManagedAssembly(string path)
    {
        try
        {
            System.Reflection.AssemblyName.GetAssemblyName(path);
            return true;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }

    private static string RepositoryRoot() => Repository.Root();

    [GeneratedRegex(@"^(\[|((public|internal|sealed|abstract|static|partial)\s+)*(class|record|struct|interface)\s)")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"<!--\s*snippet-assumes:(.*?)-->")]
    private static partial Regex AssumesComment();
}
