using Gateway.Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;

namespace Gateway.Aspire.Hosting;

/// <summary>Declares the resources of a distributed application, as Aspire's builder does.</summary>
public interface IDistributedApplicationBuilder
{
    /// <summary>Environment variables, then command-line arguments (<c>--port 8081</c>, <c>--config x.yaml</c>).</summary>
    IConfiguration Configuration { get; }

    /// <summary>Resources in declaration order.</summary>
    IReadOnlyList<Resource> Resources { get; }

    /// <summary>Repository root, data root and output of this run.</summary>
    DistributedApplicationOptions Options { get; }

    /// <summary>Adds a resource; names must be unique.</summary>
    IResourceBuilder<T> AddResource<T>(T resource) where T : Resource;

    /// <summary>Freezes the model into an application that can run or publish.</summary>
    DistributedApplication Build();
}

internal sealed class DistributedApplicationBuilder(IConfiguration configuration, DistributedApplicationOptions options) : IDistributedApplicationBuilder
{
    private readonly List<Resource> _resources = [];

    public IConfiguration Configuration { get; } = configuration;

    public IReadOnlyList<Resource> Resources => _resources;

    public DistributedApplicationOptions Options { get; } = options;

    public IResourceBuilder<T> AddResource<T>(T resource) where T : Resource
    {
        if (_resources.Any(r => r.Name == resource.Name))
        {
            throw new InvalidOperationException($"A resource named '{resource.Name}' is already declared.");
        }

        _resources.Add(resource);
        return new ResourceBuilder<T>(resource, this);
    }

    public DistributedApplication Build() => new(_resources, Configuration, Options);
}

/// <summary>Where the AppHost keeps local data and writes its output.</summary>
public sealed record DistributedApplicationOptions
{
    /// <summary>Repository root (holds Gateway.Aspire.sln and the tool manifest).</summary>
    public required string RepositoryRoot { get; init; }

    /// <summary>Local server data. Default: <c>&lt;repo&gt;/.apphost</c>; <c>--data-root</c> changes it.</summary>
    public required string DataRoot { get; init; }

    /// <summary>Where the AppHost and its children write. Default: <see cref="Console.Out"/>.</summary>
    public TextWriter Output { get; init; } = Console.Out;

    /// <summary>Throw-away durability for test clusters. Default: false.</summary>
    public bool NonDurableData { get; init; }

    /// <summary>
    /// Where the ports of endpoints without a fixed port come from, each asked for just before its
    /// project starts (and again when the project lost the port to another process). Default:
    /// <see cref="Servers.FreePort.Next"/>; tests substitute a source that hands out a taken port.
    /// </summary>
    public Func<int> NextFreePort { get; init; } = Servers.FreePort.Next;
}
