using System.IO;
using System.Linq;

namespace StemeDb.Sync.Docs.Tests;

/// <summary>
/// The core package keeps a small public surface (docs/VERSIONING.md, "Public API tracking"): internal by default,
/// public only what a host needs. Its PublicAPI files, which the build holds to the compiled assembly, list at most
/// <see cref="CoreBudget"/> entries.
/// </summary>
[TestFixture]
public sealed class PublicSurfaceTests
{
    private const int CoreBudget = 450;

    [Test]
    public void CorePackage_PublicApiEntries_WithinBudget()
    {
        string folder = Path.Combine(Repository.Root(), "src", "StemeDb.Sync", "PublicAPI");

        int entries = Directory.GetFiles(folder, "PublicAPI.*.txt")
            .SelectMany(File.ReadLines)
            .Count(line => line.Length > 0 && !line.StartsWith('#') && !line.StartsWith("*REMOVED*", System.StringComparison.Ordinal));

        Assert.That(entries, Is.InRange(1, CoreBudget), "public API entries of StemeDb.Sync");
    }
}
