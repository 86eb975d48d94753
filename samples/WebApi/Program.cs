var app = WebApplication.CreateSlimBuilder(args).Build();

app.MapGet("/", () => "Hello from DockerToVms WebApi");
app.MapGet("/health", () => "ok");

app.Run();
