using System;
using System.IO;

namespace StemeDb.Sync.Hosting.Internal;

/// <summary>
/// A node's id kept in a data directory, next to its store (the file <see cref="FileName"/>, one line of 32 hex digits),
/// so that a node restarted over the same store keeps its id: created on first use, read on every later start. Shared
/// by hosted nodes (<see cref="StemeDbSyncBuilder.UseStore(string, Func{string, IAssertionStore})"/>) and the
/// <c>stemedb-sync</c> tool's <c>--data</c> directories.
/// </summary>
internal static class NodeIdFile
{
    /// <summary>The file's name in the data directory.</summary>
    public const string FileName = "node-id";

    /// <summary>
    /// The node id kept in <paramref name="directory"/> (created if missing); a new one on first use, written to a
    /// temporary file that is then renamed, so that the file is never seen half-written, and readable by its owner only
    /// on Unix. When another process creates the file first, its id is the one kept.
    /// </summary>
    /// <exception cref="InvalidDataException">The file holds no node id (it is damaged): a node never takes a new id
    /// silently for a store that had one.</exception>
    public static NodeId LoadOrCreate(string directory)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, FileName);
        if (File.Exists(path))
        {
            return Read(path);
        }

        NodeId fresh = NodeId.NewId();
        string temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (FileStream stream = SecretFiles.CreateOwnerOnly(temporary, FileMode.CreateNew))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(fresh.ToString() + "\n");
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: false);
            return fresh;
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process (a second host over the same directory) created it first: that id is the directory's.
            return Read(path);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static NodeId Read(string path)
    {
        string text = File.ReadAllText(path).Trim();
        return NodeId.TryParse(text, out NodeId id) && id != NodeId.Empty
            ? id
            : throw new InvalidDataException(
                $"'{path}' does not hold a node id (32 hex digits, or a UUID): the file is damaged. Restore it, or delete it to " +
                "start the store beside it under a new node id.");
    }
}
