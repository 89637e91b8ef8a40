# Convenience aliases for dev.sh (the README's commands do not need make).
.PHONY: demo test setup
demo:
	bash dev.sh demo
test:
	bash dev.sh test
setup:
	bash dev.sh setup
