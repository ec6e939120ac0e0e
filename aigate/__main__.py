from aigate._entry import run

run()
