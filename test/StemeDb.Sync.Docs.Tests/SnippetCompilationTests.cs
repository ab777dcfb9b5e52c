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
/// packages as a reader would paste it into a new ASP.NET Core app: with the implicit usings of the Web SDK
/// (<see cref="ImplicitUsings"/>) and the block's own <c>using</c> lines, nothing else. A block of statements is the
/// app's Program.cs (top-level statements, so <c>args</c> is there); a block that declares types is a file of its own.
/// A block that continues an earlier one names the values it assumes in an HTML comment just above it, invisible on
/// the rendered page: <c>&lt;!-- snippet-assumes: SyncNode node, WebApplicationBuilder builder --&gt;</c>; they are
/// declared as locals after the block's usings, so their types must resolve through those usings too.
/// </summary>
[TestFixture]
public sealed partial class SnippetCompilationTests
{
    /// <summary>The global usings the Microsoft.NET.Sdk.Web SDK adds with ImplicitUsings enabled.</summary>
    private static readonly string[] ImplicitUsings =
    [
        "System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Net.Http.Json",
        "System.Threading", "System.Threading.Tasks",
        "Microsoft.AspNetCore.Builder", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Http",
        "Microsoft.AspNetCore.Routing", "Microsoft.Extensions.Configuration", "Microsoft.Extensions.DependencyInjection",
        "Microsoft.Extensions.Hosting", "Microsoft.Extensions.Logging",
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
        Diagnostic[] errors = Compile(file, snippet, out string source);

        Assert.That(errors, Is.Empty, () => $"{file} line {snippet.Line} does not compile:\n"
            + string.Join("\n", errors.Select(e => e.ToString())) + "\n--- compiled as ---\n" + source);
    }

    [Test]
    public void Snippet_WithoutItsUsing_DoesNotCompile()
    {
        // The check has teeth: the implicit usings alone do not bring in the packages' namespaces.
        var snippet = new Snippet(1, "using StemeDb.Sync;\n\nNodeId id = NodeId.NewId();", string.Empty);
        var withoutUsing = snippet with { Code = "NodeId id = NodeId.NewId();" };

        Assert.Multiple(() =>
        {
            Assert.That(Compile("check.md", snippet, out _), Is.Empty);
            Assert.That(Compile("check.md", withoutUsing, out _).Select(e => e.Id), Does.Contain("CS0246"));
        });
    }

    private static Diagnostic[] Compile(string file, Snippet snippet, out string source)
    {
        bool declaresTypes = snippet.Code.Split('\n').Any(l => TypeDeclaration().IsMatch(l));
        source = declaresTypes ? $"#line {snippet.Line} \"{file}\"\n{snippet.Code}\n" : AsProgram(file, snippet);
        var parseOptions = new CSharpParseOptions(LanguageVersion.Latest);
        string globalUsings = string.Join("\n", ImplicitUsings.Select(u => $"global using global::{u};"));
        CSharpCompilation compilation = CSharpCompilation.Create(
            "Snippet",
            [CSharpSyntaxTree.ParseText(globalUsings, parseOptions), CSharpSyntaxTree.ParseText(source, parseOptions, file)],
            References.Value,
            new CSharpCompilationOptions(
                declaresTypes ? OutputKind.DynamicallyLinkedLibrary : OutputKind.ConsoleApplication,
                nullableContextOptions: NullableContextOptions.Enable));

        return compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToArray();
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

    private static string AsProgram(string file, Snippet snippet)
    {
        // The block's leading using lines stay first, as in a Program.cs; then the assumed values, then the rest,
        // numbered as in the Markdown file so that an error points at the line to fix.
        string[] lines = snippet.Code.Split('\n');
        int head = 0;
        while (head < lines.Length && (lines[head].Trim().Length == 0 || UsingDirective().IsMatch(lines[head])))
        {
            head++;
        }

        IEnumerable<string> assumed = SplitParameters(snippet.Assumes).Select(parameter => $"{parameter} = default!;");
        return $"#line {snippet.Line} \"{file}\"\n" + string.Join("\n", lines[..head]) + "\n#line hidden\n"
            + string.Join("\n", assumed) + $"\n#line {snippet.Line + head} \"{file}\"\n" + string.Join("\n", lines[head..]) + "\n";
    }

    /// <summary>Splits "A a, IReadOnlyList&lt;B, C&gt; b" at the commas outside angle brackets.</summary>
    private static IEnumerable<string> SplitParameters(string assumes)
    {
        int depth = 0;
        int start = 0;
        for (int i = 0; i <= assumes.Length; i++)
        {
            char c = i < assumes.Length ? assumes[i] : ',';
            depth += c switch { '<' => 1, '>' => -1, _ => 0 };
            if (c == ',' && depth == 0)
            {
                string parameter = assumes[start..i].Trim();
                if (parameter.Length > 0)
                {
                    yield return parameter;
                }

                start = i + 1;
            }
        }
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

    [GeneratedRegex(@"^using\s+(static\s+)?[A-Za-z_][\w.]*(\s*=\s*[A-Za-z_][\w.]*)?\s*;\s*$")]
    private static partial Regex UsingDirective();

    [GeneratedRegex(@"<!--\s*snippet-assumes:(.*?)-->")]
    private static partial Regex AssumesComment();
}
