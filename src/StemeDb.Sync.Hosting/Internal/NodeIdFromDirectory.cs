using System.Linq;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace StemeDb.Sync.Hosting.Internal;

/// <summary>
/// The node id of a data directory (<see cref="NodeIdFile"/>) as the node's <see cref="SyncNodeOptions.NodeId"/> unless
/// the host set one. Whether it did: the id is cleared first (<see cref="Unset"/>, registered before every other
/// configuration of the options), so it is still empty after configuration and <c>ConfigureNode</c> only when neither
/// set it; this post-configuration then reads (or makes) the directory's id.
/// </summary>
internal sealed class NodeIdFromDirectory : IPostConfigureOptions<SyncNodeOptions>
{
    private readonly string _directory;

    private NodeIdFromDirectory(string directory)
    {
        _directory = directory;
    }

    public static void Add(IServiceCollection services, string directory)
    {
        services.Insert(0, ServiceDescriptor.Singleton<IConfigureOptions<SyncNodeOptions>>(new Unset()));
        services.AddSingleton<IPostConfigureOptions<SyncNodeOptions>>(new NodeIdFromDirectory(directory));
    }

    public static void Remove(IServiceCollection services)
    {
        foreach (ServiceDescriptor descriptor in services.Where(d => d.ImplementationInstance is NodeIdFromDirectory or Unset).ToList())
        {
            services.Remove(descriptor);
        }
    }

    public void PostConfigure(string? name, SyncNodeOptions options)
    {
        if (name == Options.DefaultName && options.NodeId == NodeId.Empty)
        {
            options.NodeId = NodeIdFile.LoadOrCreate(_directory);
        }
    }

    /// <summary>Clears the constructor's random id, so that an id still empty after configuration was set by no one.</summary>
    private sealed class Unset : IConfigureOptions<SyncNodeOptions>
    {
        public void Configure(SyncNodeOptions options) => options.NodeId = NodeId.Empty;
    }
}
