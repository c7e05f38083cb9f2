using System.Text.Json;
using Gateway.Aspire.Hosting.ApplicationModel;

namespace Gateway.Aspire.Hosting.Publishing;

/// <summary>
/// Writes the model as an Aspire manifest (the JSON deployment tools such as azd read): resource
/// types <c>redis.v0</c>, <c>postgres.server.v0</c>, <c>postgres.database.v0</c>, <c>project.v0</c>,
/// <c>parameter.v0</c>, with <c>{resource.connectionString}</c>-style references instead of values.
/// </summary>
public static class ManifestPublisher
{
    /// <summary>Writes the manifest of <paramref name="resources"/> to <paramref name="path"/>.</summary>
    public static void Write(IReadOnlyList<Resource> resources, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        var manifestDirectory = Path.GetDirectoryName(path)!;

        json.WriteStartObject();
        json.WriteString("$schema", "https://json.schemastore.org/aspire-8.0.json");
        json.WriteStartObject("resources");
        foreach (var resource in resources)
        {
            json.WriteStartObject(resource.Name);
            switch (resource)
            {
                case RedisResource:
                    json.WriteString("type", "redis.v0");
                    json.WriteString("connectionString", $"{{{resource.Name}.bindings.tcp.host}}:{{{resource.Name}.bindings.tcp.port}}");
                    WriteTcpBinding(json, 6379);
                    break;
                case PostgresServerResource:
                    json.WriteString("type", "postgres.server.v0");
                    json.WriteString("connectionString",
                        $"Host={{{resource.Name}.bindings.tcp.host}};Port={{{resource.Name}.bindings.tcp.port}};Username=postgres;Password={{{resource.Name}-password.value}}");
                    WriteTcpBinding(json, 5432);
                    break;
                case PostgresDatabaseResource database:
                    json.WriteString("type", "postgres.database.v0");
                    json.WriteString("parent", database.Server.Name);
                    json.WriteString("connectionString", $"{{{database.Server.Name}.connectionString}};Database={database.DatabaseName}");
                    break;
                case ParameterResource parameter:
                    json.WriteString("type", "parameter.v0");
                    json.WriteString("value", $"{{{parameter.Name}.inputs.value}}");
                    json.WriteStartObject("inputs");
                    json.WriteStartObject("value");
                    json.WriteString("type", "string");
                    json.WriteBoolean("secret", parameter.Secret);
                    json.WriteEndObject();
                    json.WriteEndObject();
                    break;
                case ProjectResource project:
                    WriteProject(json, project, manifestDirectory);
                    break;
            }

            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteProject(Utf8JsonWriter json, ProjectResource project, string manifestDirectory)
    {
        json.WriteString("type", "project.v0");
        json.WriteString("path", Path.GetRelativePath(manifestDirectory, project.Project.ProjectPath));
        json.WriteStartObject("env");
        foreach (var (name, value) in project.Environment)
        {
            json.WriteString(name, value.ManifestExpression);
        }

        foreach (var reference in project.References)
        {
            switch (reference)
            {
                case IResourceWithConnectionString:
                    json.WriteString($"ConnectionStrings__{reference.Name}", $"{{{reference.Name}.connectionString}}");
                    break;
                case ProjectResource service:
                    foreach (var endpoint in service.Endpoints)
                    {
                        json.WriteString($"services__{service.Name}__{endpoint.Name}__0", $"{{{service.Name}.bindings.{endpoint.Name}.url}}");
                    }

                    break;
            }
        }

        json.WriteEndObject();
        json.WriteStartObject("bindings");
        foreach (var endpoint in project.Endpoints)
        {
            json.WriteStartObject(endpoint.Name);
            json.WriteString("scheme", "http");
            json.WriteString("protocol", "tcp");
            json.WriteString("transport", endpoint.Protocols == "Http2" ? "http2" : "http");
            if (endpoint.Port is { } port)
            {
                json.WriteNumber("port", port);
            }

            if (project.IsExternal && endpoint.Name == "http")
            {
                json.WriteBoolean("external", true);
            }

            json.WriteEndObject();
        }

        json.WriteEndObject();
    }

    private static void WriteTcpBinding(Utf8JsonWriter json, int targetPort)
    {
        json.WriteStartObject("bindings");
        json.WriteStartObject("tcp");
        json.WriteString("scheme", "tcp");
        json.WriteString("protocol", "tcp");
        json.WriteString("transport", "tcp");
        json.WriteNumber("targetPort", targetPort);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
