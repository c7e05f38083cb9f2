namespace Gateway.Aspire.Hosting.ApplicationModel;

/// <summary>Fluent handle on a resource being declared, as in Aspire.</summary>
public interface IResourceBuilder<out T> where T : Resource
{
    /// <summary>The resource.</summary>
    T Resource { get; }

    /// <summary>The application being declared.</summary>
    IDistributedApplicationBuilder ApplicationBuilder { get; }
}

internal sealed class ResourceBuilder<T>(T resource, IDistributedApplicationBuilder builder) : IResourceBuilder<T> where T : Resource
{
    public T Resource { get; } = resource;

    public IDistributedApplicationBuilder ApplicationBuilder { get; } = builder;
}
