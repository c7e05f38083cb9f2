using Gateway.Aspire.Guardrails.Checks;
using Gateway.Aspire.Guardrails.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapGrpcService<GuardrailsService>();

app.Run();
