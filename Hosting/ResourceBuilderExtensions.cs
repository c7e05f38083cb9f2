using Gateway.Aspire.Hosting.ApplicationModel;

namespace Gateway.Aspire.Hosting;

/// <summary>Aspire's resource declaration methods, for our application model.</summary>
public static class ResourceBuilderExtensions
{
    /// <summary>Adds a Redis-compatible server (<c>ConnectionStrings__{name}</c> when set, else a local one).</summary>
    public static IResourceBuilder<RedisResource> AddRedis(this IDistributedApplicationBuilder builder, string name) =>
        builder.AddResource(new RedisResource(name));

    /// <summary>Adds a PostgreSQL server (started locally unless its databases are configured).</summary>
    public static IResourceBuilder<PostgresServerResource> AddPostgres(this IDistributedApplicationBuilder builder, string name) =>
        builder.AddResource(new PostgresServerResource(name));

    /// <summary>Adds a database on the server, created if missing; its connection string is <c>ConnectionStrings__{name}</c>.</summary>
    public static IResourceBuilder<PostgresDatabaseResource> AddDatabase(
        this IResourceBuilder<PostgresServerResource> server, string name, string? databaseName = null)
    {
        var database = new PostgresDatabaseResource(name, databaseName ?? name, server.Resource);
        server.Resource.Databases.Add(database);
        database.WaitsFor.Add(server.Resource);
        return server.ApplicationBuilder.AddResource(database);
    }

    /// <summary>Adds a project of the solution, with an <c>http</c> endpoint on a free port.</summary>
    public static IResourceBuilder<ProjectResource> AddProject<TProject>(this IDistributedApplicationBuilder builder, string name)
        where TProject : IProjectMetadata, new()
    {
        var project = new ProjectResource(name, new TProject());
        project.Endpoints.Add(new EndpointAnnotation("http"));
        project.Environment["OTEL_SERVICE_NAME"] = new EnvironmentValue(() => name, name);
        return builder.AddResource(project);
    }

    /// <summary>Fixes the port (and optionally the host) of the project's <c>http</c> endpoint.</summary>
    public static IResourceBuilder<ProjectResource> WithHttpEndpoint(
        this IResourceBuilder<ProjectResource> builder, int? port = null, string? host = null)
    {
        var endpoint = builder.Resource.Endpoints.First(e => e.Name == "http");
        endpoint.Port = port;
        endpoint.Host = host ?? endpoint.Host;
        return builder;
    }

    /// <summary>
    /// Adds the <c>grpc</c> endpoint (cleartext HTTP/2). Kestrel cannot serve HTTP/1.1 and cleartext
    /// HTTP/2 on one port, so gRPC gets its own; probes and metrics stay on <c>http</c>.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithGrpcEndpoint(this IResourceBuilder<ProjectResource> builder)
    {
        builder.Resource.Endpoints.Add(new EndpointAnnotation("grpc") { Protocols = "Http2" });
        return builder;
    }

    /// <summary>Marks the project as reachable from outside (external ingress when deployed).</summary>
    public static IResourceBuilder<ProjectResource> WithExternalHttpEndpoints(this IResourceBuilder<ProjectResource> builder)
    {
        builder.Resource.IsExternal = true;
        return builder;
    }

    /// <summary>Sets an environment variable of the project.</summary>
    public static IResourceBuilder<ProjectResource> WithEnvironment(this IResourceBuilder<ProjectResource> builder, string name, string value)
    {
        builder.Resource.Environment[name] = new EnvironmentValue(() => value, value);
        return builder;
    }

    /// <summary>Sets an environment variable of the project from a parameter (the manifest keeps only a reference).</summary>
    public static IResourceBuilder<ProjectResource> WithEnvironment(
        this IResourceBuilder<ProjectResource> builder, string name, IResourceBuilder<ParameterResource> parameter)
    {
        var resource = parameter.Resource;
        builder.Resource.Environment[name] = new EnvironmentValue(() => resource.Value, $"{{{resource.Name}.value}}");
        return builder;
    }

    /// <summary>Adds a parameter whose value is computed on first use at run time.</summary>
    public static IResourceBuilder<ParameterResource> AddParameter(
        this IDistributedApplicationBuilder builder, string name, Func<string> value, bool secret = false) =>
        builder.AddResource(new ParameterResource(name, value, secret));

    /// <summary>
    /// Gives the project a dependency's connection details: <c>ConnectionStrings__{name}</c> for Redis
    /// and databases, <c>services__{name}__{endpoint}__0</c> for projects.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithReference<TResource>(
        this IResourceBuilder<ProjectResource> builder, IResourceBuilder<TResource> dependency) where TResource : Resource
    {
        builder.Resource.References.Add(dependency.Resource);
        return builder;
    }

    /// <summary>Starts the resource only after <paramref name="dependency"/> is healthy.</summary>
    public static IResourceBuilder<T> WaitFor<T, TDependency>(this IResourceBuilder<T> builder, IResourceBuilder<TDependency> dependency)
        where T : Resource where TDependency : Resource
    {
        builder.Resource.WaitsFor.Add(dependency.Resource);
        return builder;
    }
}
