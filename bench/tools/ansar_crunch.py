"""ansar-connect's crunch server, as its tutorial writes it (Multiply and Divide over HTTP).

python bench/ansar_crunch.py --port=5051
"""

import ansar.connect as ar


class Multiply:
    def __init__(self, x=0.0, y=0.0):
        self.x = x
        self.y = y


class Divide:
    def __init__(self, x=0.0, y=0.0):
        self.x = x
        self.y = y


class Output:
    def __init__(self, value=0.0):
        self.value = value


ar.bind(Multiply)
ar.bind(Divide)
ar.bind(Output)


class Settings:
    def __init__(self, host="127.0.0.1", port=5051):
        self.host = host
        self.port = port


ar.bind(Settings, object_schema={"host": ar.Unicode(), "port": ar.Integer8()})


class Server(ar.Point, ar.Stateless):
    def __init__(self, settings):
        ar.Point.__init__(self)
        ar.Stateless.__init__(self)
        self.settings = settings


def Server_Start(self, message):  # noqa: N802 - ansar dispatches on Class_Message names
    ar.listen(self, ar.HostPort(self.settings.host, self.settings.port), api_server=[Multiply, Divide])


def Server_Listening(self, message):  # noqa: N802
    pass


def Server_NotListening(self, message):  # noqa: N802
    self.complete(message)


def Server_Accepted(self, message):  # noqa: N802
    pass


def Server_Closed(self, message):  # noqa: N802
    pass


def Server_Abandoned(self, message):  # noqa: N802
    pass


def Server_Multiply(self, message):  # noqa: N802
    self.reply(Output(message.x * message.y))


def Server_Divide(self, message):  # noqa: N802
    if message.y == 0.0:
        self.reply(ar.Faulted("cannot divide by zero"))
        return
    self.reply(Output(message.x / message.y))


def Server_Stop(self, message):  # noqa: N802
    self.complete(ar.Aborted())


ar.bind(
    Server,
    [ar.Start, ar.Listening, ar.NotListening, ar.Accepted, ar.Closed, ar.Abandoned, Multiply, Divide, ar.Stop],
)

if __name__ == "__main__":
    ar.create_object(Server, factory_settings=Settings())
